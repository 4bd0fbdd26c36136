// kvip's exit codes, shared by the CLI and `kvip start`'s runner.
export const EXIT_OK = 0;
/** Failed at run time. */
export const EXIT_FAILED = 1;
/** Bad input: one line on stderr, nothing on stdout, nothing changed. */
export const EXIT_USAGE = 2;
export const EXIT_NOT_IMPLEMENTED = 3;
/** `kvip status`: there is no such Lease. */
export const EXIT_NOT_FOUND = 4;
