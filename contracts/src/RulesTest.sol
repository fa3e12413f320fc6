// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PackedUserOp, UserOpV06} from "./UserOperations.sol";

// Test-only entities for Conveyor's ERC-7562 rule table. An account, a factory and a paymaster that
// each perform one configurable action during validation: an opcode, a storage access of a given
// kind, a call, a create. The action travels in the op itself (the account's signature, the
// factory's calldata, the paymaster's data) so every table case is one op and no setup transaction.
// None of them checks signatures: they exercise the bundler's tracer and rules, not cryptography.

interface IRulesEntryPoint {
    function depositTo(address account) external payable;
    function addStake(uint32 unstakeDelaySec) external payable;
    function balanceOf(address account) external view returns (uint256);
}

/** A non-entity contract with plain slots and an address-keyed mapping at slot 0. */
contract RulesStorage {
    mapping(address => uint256) public balances;

    receive() external payable {}
    fallback() external payable {}

    function readSlot(bytes32 slot) external view returns (uint256 v) {
        assembly { v := sload(slot) }
    }

    function writeSlot(bytes32 slot) external {
        assembly { sstore(slot, add(sload(slot), 1)) }
    }

    /** Reads keccak(key . 0) + n: the mapping entry of `key`, or n slots past it. */
    function readMap(address key, uint256 n) external view returns (uint256 v) {
        bytes32 base = keccak256(abi.encode(key, uint256(0)));
        assembly { v := sload(add(base, n)) }
    }

    function writeMap(address key, uint256 n) external {
        bytes32 base = keccak256(abi.encode(key, uint256(0)));
        assembly { sstore(add(base, n), add(sload(add(base, n)), 1)) }
    }

    function tload(bytes32 slot) external view returns (uint256 v) {
        assembly { v := tload(slot) }
    }

    function tstore(bytes32 slot) external {
        assembly { tstore(slot, 1) }
    }
}

/** A contract CREATE2 can deploy that is not the sender. */
contract RulesDummy {
    uint256 public x = 1;
}

abstract contract RulesActor {
    // Action kinds; test/support/rules-actions.ts mirrors them.
    uint256 constant NONE = 0;
    uint256 constant ORIGIN = 1;
    uint256 constant GASPRICE = 2;
    uint256 constant BLOCKHASH = 3;
    uint256 constant COINBASE = 4;
    uint256 constant TIMESTAMP = 5;
    uint256 constant NUMBER = 6;
    uint256 constant PREVRANDAO = 7;
    uint256 constant GASLIMIT = 8;
    uint256 constant BASEFEE = 9;
    uint256 constant CREATE = 10;
    uint256 constant INVALID = 11;
    uint256 constant SELFDESTRUCT = 12;
    uint256 constant GAS_ALONE = 13;
    uint256 constant GAS_THEN_CALL = 14;
    uint256 constant OUT_OF_GAS = 15;
    uint256 constant SUBCALL_REVERT = 16;
    uint256 constant CREATE2_OTHER = 17;
    uint256 constant CALL_NO_CODE = 18;
    uint256 constant EXTCODESIZE_NO_CODE = 19;
    uint256 constant EXTCODEHASH_TARGET = 20;
    uint256 constant EP_CODESIZE_ISZERO = 21;
    uint256 constant EP_CODEHASH = 22;
    uint256 constant EP_DEPOSIT_TO = 23;
    uint256 constant EP_FALLBACK_VALUE = 24;
    uint256 constant EP_BALANCE_OF = 25;
    uint256 constant CALL_VALUE = 26;
    uint256 constant CALL_NO_VALUE = 27;
    uint256 constant PRECOMPILE = 28;
    uint256 constant BALANCE = 29;
    uint256 constant SELFBALANCE = 30;
    uint256 constant OWN_READ = 31;
    uint256 constant OWN_WRITE = 32;
    uint256 constant OWN_TLOAD = 33;
    uint256 constant OWN_TSTORE = 34;
    uint256 constant EXT_READ = 35;
    uint256 constant EXT_WRITE = 36;
    uint256 constant EXT_READ_MAP = 37;
    uint256 constant EXT_WRITE_MAP = 38;
    uint256 constant EXT_TLOAD = 39;
    uint256 constant EXT_TSTORE = 40;
    uint256 constant STATE_SWITCH = 41;

    /** Runs `kind` with `target` and `arg` (for maps: key in the low 160 bits, offset n above). */
    function act(address entryPoint, address sender, uint256 kind, address target, uint256 arg) internal {
        if (kind == NONE) return;
        if (kind <= BASEFEE) return envOpcode(kind);
        if (kind == CREATE) {
            assembly { pop(create(0, 0, 0)) }
        } else if (kind == INVALID || kind == SELFDESTRUCT || kind == OUT_OF_GAS || kind == SUBCALL_REVERT) {
            // In a capped self-call, so validation itself goes on and only the tracer sees it.
            (bool ok,) = address(this).call{gas: 50_000}(abi.encodeCall(this.rulesHelper, (kind)));
            ok;
        } else if (kind == GAS_ALONE) {
            assembly { if eq(gas(), 0x1234) { revert(0, 0) } }
        } else if (kind == GAS_THEN_CALL) {
            assembly { pop(call(gas(), target, 0, 0, 0, 0, 0)) }
        } else if (kind == CREATE2_OTHER) {
            new RulesDummy{salt: bytes32(arg)}();
        } else if (kind == CALL_NO_CODE) {
            assembly { pop(call(100000, target, 0, 0, 0, 0, 0)) }
        } else if (kind == EXTCODESIZE_NO_CODE) {
            assembly { if eq(extcodesize(target), 0x1234) { revert(0, 0) } }
        } else if (kind == EXTCODEHASH_TARGET) {
            assembly { if eq(extcodehash(target), 0x1234) { revert(0, 0) } }
        } else if (kind == EP_CODESIZE_ISZERO) {
            // Materialized so the optimizer keeps EXTCODESIZE immediately followed by ISZERO (OP-051).
            assembly {
                mstore(0, iszero(extcodesize(entryPoint)))
                if mload(0) { revert(0, 0) }
            }
        } else if (kind == EP_CODEHASH) {
            assembly { if eq(extcodehash(entryPoint), 0x1234) { revert(0, 0) } }
        } else if (kind == EP_DEPOSIT_TO) {
            IRulesEntryPoint(entryPoint).depositTo{value: 1}(sender);
        } else if (kind == EP_FALLBACK_VALUE) {
            (bool ok,) = payable(entryPoint).call{value: 1}("");
            require(ok, "ep fallback");
        } else if (kind == EP_BALANCE_OF) {
            require(IRulesEntryPoint(entryPoint).balanceOf(sender) != 0x1234);
        } else if (kind == CALL_VALUE || kind == CALL_NO_VALUE) {
            uint256 value = kind == CALL_VALUE ? 1 : 0;
            assembly { pop(call(100000, target, value, 0, 0, 0, 0)) }
        } else if (kind == PRECOMPILE) {
            assembly {
                mstore(0, 1)
                pop(staticcall(100000, target, 0, 32, 0, 32))
            }
        } else if (kind == BALANCE) {
            assembly { if eq(balance(target), 0x1234) { revert(0, 0) } }
        } else if (kind == SELFBALANCE) {
            assembly { if eq(selfbalance(), 0x1234) { revert(0, 0) } }
        } else if (kind == OWN_READ) {
            assembly { if eq(sload(arg), 0x1234) { revert(0, 0) } }
        } else if (kind == OWN_WRITE) {
            assembly { sstore(arg, 1) }
        } else if (kind == OWN_TLOAD) {
            assembly { if eq(tload(arg), 0x1234) { revert(0, 0) } }
        } else if (kind == OWN_TSTORE) {
            assembly { tstore(arg, 1) }
        } else if (kind == EXT_READ) {
            RulesStorage(payable(target)).readSlot(bytes32(arg));
        } else if (kind == EXT_WRITE) {
            RulesStorage(payable(target)).writeSlot(bytes32(arg));
        } else if (kind == EXT_READ_MAP) {
            RulesStorage(payable(target)).readMap(address(uint160(arg)), arg >> 160);
        } else if (kind == EXT_WRITE_MAP) {
            RulesStorage(payable(target)).writeMap(address(uint160(arg)), arg >> 160);
        } else if (kind == EXT_TLOAD) {
            RulesStorage(payable(target)).tload(bytes32(arg));
        } else if (kind == EXT_TSTORE) {
            RulesStorage(payable(target)).tstore(bytes32(arg));
        } else if (kind == STATE_SWITCH) {
            // Reads its own slot `arg`; once it is set, also reads slot 77 of `target` (unassociated):
            // validation that turns forbidden after admission without a code change.
            uint256 on;
            assembly { on := sload(arg) }
            if (on != 0) RulesStorage(payable(target)).readSlot(bytes32(uint256(77)));
        } else {
            revert("unknown action");
        }
    }

    function envOpcode(uint256 kind) private view {
        uint256 v;
        assembly {
            switch kind
            case 1 { v := origin() }
            case 2 { v := gasprice() }
            case 3 { v := blockhash(0) }
            case 4 { v := coinbase() }
            case 5 { v := timestamp() }
            case 6 { v := number() }
            case 7 { v := prevrandao() }
            case 8 { v := gaslimit() }
            case 9 { v := basefee() }
        }
        require(v != 0x1234);
    }

    /** The body of capped self-calls: an opcode that ends the frame, or a plain revert. */
    function rulesHelper(uint256 kind) external {
        if (kind == INVALID) {
            assembly { invalid() }
        } else if (kind == SELFDESTRUCT) {
            selfdestruct(payable(address(this)));
        } else if (kind == OUT_OF_GAS) {
            assembly {
                for { let i := 0 } 1 { i := add(i, 1) } { mstore(0, i) }
            }
        }
        revert("helper reverts");
    }

    function decodeAction(bytes calldata data) internal pure returns (uint256 kind, address target, uint256 arg) {
        if (data.length < 96) return (NONE, address(0), 0);
        (kind, target, arg) = abi.decode(data, (uint256, address, uint256));
    }

    function addStake(address entryPoint, uint32 unstakeDelaySec) external payable {
        IRulesEntryPoint(entryPoint).addStake{value: msg.value}(unstakeDelaySec);
    }
}

/** An account whose signature field is its validation action; it pays its prefund. */
contract RulesAccount is RulesActor {
    address public immutable entryPoint;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
    }

    receive() external payable {}

    function validateUserOp(PackedUserOp calldata userOp, bytes32, uint256 missingAccountFunds)
        external
        returns (uint256)
    {
        return validate(userOp.signature, missingAccountFunds);
    }

    /** v0.6's validateUserOp: the same action, from the v0.6 struct. */
    function validateUserOp(UserOpV06 calldata userOp, bytes32, uint256 missingAccountFunds)
        external
        returns (uint256)
    {
        return validate(userOp.signature, missingAccountFunds);
    }

    function validate(bytes calldata action, uint256 missingAccountFunds) private returns (uint256) {
        (uint256 kind, address target, uint256 arg) = decodeAction(action);
        act(entryPoint, address(this), kind, target, arg);
        if (missingAccountFunds > 0) {
            (bool ok,) = payable(msg.sender).call{value: missingAccountFunds}("");
            ok;
        }
        return 0;
    }

    function execute(address to, uint256 value, bytes calldata data) external {
        (bool ok,) = to.call{value: value}(data);
        require(ok, "execute failed");
    }
}

/** A factory that CREATE2s a RulesAccount and then performs its action. */
contract RulesFactory is RulesActor {
    address public immutable entryPoint;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
    }

    receive() external payable {}

    function getAddress(bytes32 salt) public view returns (address) {
        bytes32 h = keccak256(
            abi.encodePacked(
                bytes1(0xff), address(this), salt, keccak256(abi.encodePacked(type(RulesAccount).creationCode, abi.encode(entryPoint)))
            )
        );
        return address(uint160(uint256(h)));
    }

    function createAccount(bytes32 salt, uint256 kind, address target, uint256 arg) external returns (address account) {
        account = address(new RulesAccount{salt: salt}(entryPoint));
        act(entryPoint, account, kind, target, arg);
    }
}

/** A paymaster whose paymasterData is its validation action; it sponsors everything. */
contract RulesPaymaster is RulesActor {
    address public immutable entryPoint;

    constructor(address entryPoint_) {
        entryPoint = entryPoint_;
    }

    receive() external payable {}

    function validatePaymasterUserOp(PackedUserOp calldata userOp, bytes32, uint256)
        external
        returns (bytes memory, uint256)
    {
        return validate(userOp.sender, userOp.paymasterAndData[52:]);
    }

    /** v0.6: paymasterAndData has no gas limits, the action follows the address. */
    function validatePaymasterUserOp(UserOpV06 calldata userOp, bytes32, uint256)
        external
        returns (bytes memory, uint256)
    {
        return validate(userOp.sender, userOp.paymasterAndData[20:]);
    }

    function validate(address sender, bytes calldata action) private returns (bytes memory, uint256) {
        (uint256 kind, address target, uint256 arg) = decodeAction(action);
        act(entryPoint, sender, kind, target, arg);
        return ("", 0);
    }

    function postOp(uint8, bytes calldata, uint256, uint256) external {}

    function postOp(uint8, bytes calldata, uint256) external {}
}
