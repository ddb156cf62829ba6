/**
 * fabric-contract-api and fabric-shim log every decorator and every failed transaction at
 * info/error level through winston, reading the level once, when they load. Import this
 * module first in a test file to keep the output readable (CRITICAL ≈ silent).
 */
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'CRITICAL';
