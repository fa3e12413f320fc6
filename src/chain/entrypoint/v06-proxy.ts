// Generated from contracts/artifacts/EntryPointV06Proxy.json (contracts/src/EntryPointV06Proxy.sol) by
// test/contract-artifacts.test.ts: do not edit; see there how to regenerate.

export const V06_PROXY_ABI = [
  {
    inputs: [
      {
        internalType: 'bool',
        name: 'success',
        type: 'bool',
      },
      {
        internalType: 'bytes',
        name: 'ret',
        type: 'bytes',
      },
    ],
    name: 'DelegateAndRevert',
    type: 'error',
  },
  {
    stateMutability: 'payable',
    type: 'fallback',
  },
  {
    inputs: [
      {
        internalType: 'address',
        name: 'target',
        type: 'address',
      },
      {
        internalType: 'bytes',
        name: 'data',
        type: 'bytes',
      },
    ],
    name: 'delegateAndRevert',
    outputs: [],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    stateMutability: 'payable',
    type: 'receive',
  },
] as const

/** Runtime code, placed by state override (it is never deployed). */
export const V06_PROXY_CODE =
  '0x608060405260043610610021575f3560e01c8063850aaf621461006557610046565b36610046575f5f5f5f66c0ffee0e0606015af43d5f5f3e80610041573d5ffd5b503d5ff35b365f5f375f5f365f66c0ffee0e0606015af43d5f5f3e80610041573d5ffd5b348015610070575f5ffd5b5061008461007f36600461010a565b610086565b005b5f5f846001600160a01b031684846040516100a2929190610195565b5f60405180830381855af49150503d805f81146100da576040519150601f19603f3d011682016040523d82523d5f602084013e6100df565b606091505b50915091508181604051632650415560e21b81526004016101019291906101a4565b60405180910390fd5b5f5f5f6040848603121561011c575f5ffd5b83356001600160a01b0381168114610132575f5ffd5b9250602084013567ffffffffffffffff81111561014d575f5ffd5b8401601f8101861361015d575f5ffd5b803567ffffffffffffffff811115610173575f5ffd5b866020828401011115610184575f5ffd5b939660209190910195509293505050565b818382375f9101908152919050565b8215158152604060208201525f82518060408401528060208501606085015e5f606082850101526060601f19601f830116840101915050939250505056fea2646970667358221220bdb85d30b49f9574d8aa156f23fcbad01bed17203992f125c46d250048806aa664736f6c634300081c0033' as const
