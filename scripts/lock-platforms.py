#!/usr/bin/env python3
"""Adds lock-file entries for optional platform binaries the registry mirror here does not carry.

`npm install` silently leaves out optional dependencies it cannot fetch (other platforms' builds of
biome, anvil, rollup), and `npm ci` then refuses the lock as out of sync. Each added entry carries
the os/cpu/libc of its platform, so npm skips it everywhere else without fetching it. Run after any
`npm install` that rewrites package-lock.json: python3 scripts/lock-platforms.py
"""
import json
import re
import sys

OS = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'openharmony', 'sunos', 'aix']
CPU = {'arm64': 'arm64', 'x64': 'x64', 'amd64': 'x64', 'ia32': 'ia32', 'arm': 'arm', 'loong64': 'loong64',
       'ppc64': 'ppc64', 'riscv64': 'riscv64', 's390x': 's390x'}


def platform(name):
    parts = re.split(r'[-/]', name)
    os_ = next((p for p in parts if p in OS), None)
    cpu = next((CPU[p] for p in parts if p in CPU), None)
    libc = 'musl' if 'musl' in parts or 'musleabihf' in name else ('glibc' if 'gnu' in parts or 'gnueabihf' in name else None)
    return os_, cpu, libc


def main(path='package-lock.json'):
    lock = json.load(open(path))
    pkgs = lock['packages']
    added = 0
    for key, entry in list(pkgs.items()):
        for dep, spec in (entry.get('optionalDependencies') or {}).items():
            target = f'node_modules/{dep}'
            if target in pkgs:
                continue
            os_, cpu, libc = platform(dep)
            if not os_ or not cpu:
                continue  # not a platform binary: leave it to npm
            new = {'version': spec, 'cpu': [cpu], 'os': [os_], 'optional': True}
            if libc:
                new['libc'] = [libc]
            if entry.get('dev'):
                new['dev'] = True
            pkgs[target] = new
            added += 1
    lock['packages'] = dict(sorted(pkgs.items(), key=lambda kv: (kv[0] != '', kv[0])))
    with open(path, 'w') as f:
        json.dump(lock, f, indent=2)
        f.write('\n')
    print(f'added {added} platform entries to {path}')


if __name__ == '__main__':
    main(*sys.argv[1:])
