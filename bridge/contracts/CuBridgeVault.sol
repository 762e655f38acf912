// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title CuBridgeVault
/// @notice Holds CuToken bridged to the CuTopia chain. `deposit` locks tokens and emits
/// `Deposited`, which the chain's relayers attest; `release` pays a withdrawal burned on the
/// chain when it carries EIP-712 signatures of at least `threshold` members of the current
/// relayer set (the same set, ids and threshold rule as pallet-bridge).
/// @dev Lessons from bridge incidents built in: signatures are checked against the current
/// set only (no stale keys), sorted and unique (no duplicated signer), bound to chain id,
/// vault, set id and nonce (no replay across chains, vaults, sets or withdrawals), low-s only
/// (OpenZeppelin ECDSA); each nonce pays once; a daily cap over a sliding window of 24 hourly
/// buckets bounds what a compromised threshold can take (no second cap right after midnight); a guardian can pause at once, only the owner unpauses. No deposit is larger than
/// `maxDeposit`, which the owner keeps at or below the chain's mint cap: a larger one could
/// never mint. A recipient that is a 20-byte address padded to 32 bytes is refused: on the
/// chain it would be an account nobody holds the key of.
/// The owner should be a timelock or a multisig (see `transferOwnership`): it alone unpauses,
/// changes the relayer set and the caps.
contract CuBridgeVault is EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant WITHDRAWAL_TYPEHASH =
        keccak256("Withdrawal(uint64 setId,uint64 nonce,address recipient,uint256 amount)");
    bytes32 public constant REFUND_TYPEHASH =
        keccak256("Refund(uint64 setId,uint64 nonce,bytes32 recipient,uint256 amount)");
    /// @notice The chain's existential deposit: smaller amounts could not create an account.
    uint256 public constant MIN_AMOUNT = 1e12;

    IERC20 public immutable token;
    address public owner;
    address public guardian;
    bool public paused;

    /// @notice The nonce the next deposit gets.
    uint64 public depositNonce;

    uint64 public setId;
    uint256 public threshold;
    address[] private _relayers;
    mapping(address => bool) public isRelayer;

    /// @dev Released in one hour; `hour` is `block.timestamp / 1 hours`.
    struct HourReleased {
        uint64 hour;
        uint192 amount;
    }

    /// @notice Hours the daily cap's window is kept in: the cap holds over any 24
    /// consecutive hourly buckets, so over any 23 hours.
    uint256 public constant CAP_HOURS = 24;

    mapping(uint64 => bool) public released;
    uint256 public dailyCap;
    /// @notice The largest deposit: at most what the chain may mint in one period.
    uint256 public maxDeposit;
    /// @dev A ring of the last `CAP_HOURS` hours' releases, indexed by hour modulo its size.
    HourReleased[24] private _window;

    event Deposited(uint64 indexed nonce, address indexed from, bytes32 recipient, uint256 amount);
    event Released(uint64 indexed nonce, address indexed recipient, uint256 amount);
    /// @notice Withdrawal `nonce` will never be released: its amount went back to `recipient`
    /// on the chain as deposit `depositNonce` (emitted just before, from the vault itself).
    event Refunded(uint64 indexed nonce, uint64 depositNonce, bytes32 recipient, uint256 amount);
    event RelayersChanged(uint64 setId, address[] relayers, uint256 threshold);
    event Paused(address by);
    event Unpaused(address by);
    event DailyCapChanged(uint256 cap);
    event MaxDepositChanged(uint256 maxDeposit);

    error NotOwner();
    error NotGuardian();
    error IsPaused();
    error ZeroRecipient();
    error AddressRecipient();
    error OverMaxDeposit();
    error BadAmount();
    error AlreadyReleased();
    error TooFewSignatures();
    error SignersNotSorted();
    error NotRelayer(address signer);
    error OverDailyCap();
    error BadRelayerSet();
    error BadThreshold();
    error StaleSetId();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert IsPaused();
        _;
    }

    constructor(
        IERC20 token_,
        address[] memory relayers_,
        uint256 threshold_,
        uint64 setId_,
        uint256 dailyCap_,
        uint256 maxDeposit_,
        address guardian_
    ) EIP712("CuBridgeVault", "1") {
        token = token_;
        owner = msg.sender;
        guardian = guardian_;
        dailyCap = dailyCap_;
        maxDeposit = maxDeposit_;
        _setRelayers(relayers_, threshold_, setId_);
    }

    /// @notice Locks `amount` (as measured by the vault's balance change) for `recipient` on
    /// the CuTopia chain (its 32-byte account id).
    function deposit(bytes32 recipient, uint256 amount) external nonReentrant whenNotPaused returns (uint64 nonce) {
        if (recipient == bytes32(0)) revert ZeroRecipient();
        // The top 12 bytes zero: an Ethereum address, not a CuTopia account (a real account id
        // has them all zero with probability 2^-96).
        if (uint256(recipient) >> 160 == 0) revert AddressRecipient();
        if (amount == 0) revert BadAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received < MIN_AMOUNT || received > type(uint128).max) revert BadAmount();
        if (received > maxDeposit) revert OverMaxDeposit();
        nonce = depositNonce++;
        emit Deposited(nonce, msg.sender, recipient, received);
    }

    /// @notice The digest relayers sign for withdrawal `nonce` under the current set.
    function withdrawalDigest(uint64 nonce, address recipient, uint256 amount) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(WITHDRAWAL_TYPEHASH, setId, nonce, recipient, amount)));
    }

    /// @notice The digest relayers sign to refund withdrawal `nonce` on the chain.
    function refundDigest(uint64 nonce, bytes32 recipient, uint256 amount) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(REFUND_TYPEHASH, setId, nonce, recipient, amount)));
    }

    /// @notice Pays withdrawal `nonce` to `recipient`; `signatures` of at least `threshold`
    /// current relayers, ordered by signer address (strictly increasing).
    function release(uint64 nonce, address recipient, uint256 amount, bytes[] calldata signatures)
        external
        nonReentrant
        whenNotPaused
    {
        if (released[nonce]) revert AlreadyReleased();
        if (recipient == address(0)) revert ZeroRecipient();
        if (amount < MIN_AMOUNT || amount > type(uint128).max) revert BadAmount();
        _checkSignatures(withdrawalDigest(nonce, recipient, amount), signatures);
        if (releasedInWindow() + amount > dailyCap) revert OverDailyCap();
        uint64 hour = uint64(block.timestamp / 1 hours);
        HourReleased storage bucket = _window[hour % CAP_HOURS];
        if (bucket.hour != hour) {
            // The slot's previous hour is at least CAP_HOURS old: out of the window.
            bucket.hour = hour;
            bucket.amount = 0;
        }
        // amount ≤ type(uint128).max (checked above): no overflow of uint192.
        bucket.amount += uint192(amount);
        released[nonce] = true;
        token.safeTransfer(recipient, amount);
        emit Released(nonce, recipient, amount);
    }

    /// @notice Voids withdrawal `nonce` for good and credits its amount back to `recipient`
    /// (its owner's account on the chain) as a new deposit of tokens the vault already holds:
    /// the chain burned them and asked for a refund because the withdrawal was not released in
    /// time. `signatures` as for `release`, over `refundDigest`. Either this or `release`
    /// happens for a nonce, never both. Allowed while paused: no token leaves the vault, and a
    /// refund only mints on the chain through the relayers' threshold, as any deposit.
    function refund(uint64 nonce, bytes32 recipient, uint256 amount, bytes[] calldata signatures)
        external
        nonReentrant
        returns (uint64 depositNonce_)
    {
        if (released[nonce]) revert AlreadyReleased();
        if (recipient == bytes32(0)) revert ZeroRecipient();
        if (uint256(recipient) >> 160 == 0) revert AddressRecipient();
        if (amount < MIN_AMOUNT || amount > type(uint128).max) revert BadAmount();
        _checkSignatures(refundDigest(nonce, recipient, amount), signatures);
        released[nonce] = true;
        depositNonce_ = depositNonce++;
        emit Deposited(depositNonce_, address(this), recipient, amount);
        emit Refunded(nonce, depositNonce_, recipient, amount);
    }

    /// @dev At least `threshold` signatures of current relayers over `digest`, ordered by
    /// signer address (strictly increasing: no signer twice).
    function _checkSignatures(bytes32 digest, bytes[] calldata signatures) private view {
        if (signatures.length < threshold) revert TooFewSignatures();
        address last = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= last) revert SignersNotSorted();
            if (!isRelayer[signer]) revert NotRelayer(signer);
            last = signer;
        }
    }

    /// @notice Released in the current hour and the `CAP_HOURS - 1` before it: what counts
    /// against `dailyCap` now.
    function releasedInWindow() public view returns (uint256 total) {
        uint256 hour = block.timestamp / 1 hours;
        for (uint256 i = 0; i < CAP_HOURS; i++) {
            HourReleased memory bucket = _window[i];
            if (uint256(bucket.hour) + CAP_HOURS > hour) total += bucket.amount;
        }
    }

    /// @notice Mirrors a relayer-set change made on the chain (same members, threshold, id).
    function setRelayers(address[] calldata relayers_, uint256 threshold_, uint64 setId_) external onlyOwner {
        if (setId_ <= setId) revert StaleSetId();
        _setRelayers(relayers_, threshold_, setId_);
    }

    function relayers() external view returns (address[] memory) {
        return _relayers;
    }

    function pause() external {
        if (msg.sender != guardian && msg.sender != owner) revert NotGuardian();
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        paused = false;
        emit Unpaused(msg.sender);
    }

    function setDailyCap(uint256 cap) external onlyOwner {
        dailyCap = cap;
        emit DailyCapChanged(cap);
    }

    function setMaxDeposit(uint256 maxDeposit_) external onlyOwner {
        maxDeposit = maxDeposit_;
        emit MaxDepositChanged(maxDeposit_);
    }

    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
    }

    function transferOwnership(address owner_) external onlyOwner {
        if (owner_ == address(0)) revert NotOwner();
        owner = owner_;
    }

    function _setRelayers(address[] memory relayers_, uint256 threshold_, uint64 setId_) private {
        uint256 n = relayers_.length;
        if (n == 0) revert BadRelayerSet();
        // ⌈2n/3⌉ ≤ threshold ≤ n: more than a third must collude, two payloads never both pass.
        if (threshold_ < (2 * n + 2) / 3 || threshold_ > n) revert BadThreshold();
        for (uint256 i = 0; i < _relayers.length; i++) {
            isRelayer[_relayers[i]] = false;
        }
        delete _relayers;
        for (uint256 i = 0; i < n; i++) {
            address r = relayers_[i];
            if (r == address(0) || isRelayer[r]) revert BadRelayerSet();
            isRelayer[r] = true;
            _relayers.push(r);
        }
        threshold = threshold_;
        setId = setId_;
        emit RelayersChanged(setId_, relayers_, threshold_);
    }
}
