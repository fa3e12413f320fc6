/** A Map that forgets its oldest entries beyond `max` (insertion order), for bounded memory. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super()
  }

  override set(key: K, value: V): this {
    this.delete(key)
    super.set(key, value)
    while (this.size > this.max) {
      const oldest = this.keys().next()
      if (oldest.done) break
      this.delete(oldest.value)
    }
    return this
  }
}
