/*
 * bench_kernels.h - `tinylm bench --kernels`: throughput of the matrix
 * product kernels against the machine's measured memory read bandwidth.
 */
#ifndef TLM_CLI_BENCH_KERNELS_H
#define TLM_CLI_BENCH_KERNELS_H

/* argv[0] is the command's name and is ignored, as is a "--kernels" flag
 * left in the list.  Options: -t N threads (default 2), --types
 * q8_0,q4_0,..., --quick, --help.  Prints the table on stdout; returns the
 * exit status (0 ok, 1 failure, 2 usage error). */
int tlm_cli_bench_kernels(int argc, char **argv);

#endif /* TLM_CLI_BENCH_KERNELS_H */
