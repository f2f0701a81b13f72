// Package bench holds gatehouse's Go benchmarks of the token endpoint's hot
// paths (the grant pipeline without the password hash, token minting,
// refresh rotation in the store, client authentication), each reported
// also as a ratio to a reference measured in the same run, and the test
// that counts database round trips per grant. The load generator is
// bench/cmd/loadgen; the code both share is bench/harness. BENCHMARKS.md
// at the repository root says how to run and read them.
package bench
