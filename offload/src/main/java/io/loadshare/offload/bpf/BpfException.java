package io.loadshare.offload.bpf;

/**
 * A {@code bpf(2)} call the kernel refused: the message says what was asked, the errno, and what to do about it;
 * a program the verifier rejected carries the verifier's log.
 */
public final class BpfException extends Exception {
    private final int errno;
    private final String verifierLog;

    BpfException(String message, int errno, String verifierLog) {
        super(message + ": " + Bpf.describe(errno) + hint(errno)
                + (verifierLog.isEmpty() ? "" : "\nverifier log:\n" + verifierLog));
        this.errno = errno;
        this.verifierLog = verifierLog;
    }

    BpfException(String message, int errno) {
        this(message, errno, "");
    }

    /** The errno the kernel returned. */
    public int errno() {
        return errno;
    }

    /** What the verifier said about a rejected program; empty for other calls. */
    public String verifierLog() {
        return verifierLog;
    }

    private static String hint(int errno) {
        return switch (errno) {
            case Bpf.EPERM -> "; loading and attaching BPF programs needs CAP_BPF and CAP_NET_ADMIN (run as root,"
                    + " or grant them: the systemd unit does)";
            case Bpf.ENOSYS -> "; this kernel or architecture has no bpf() system call (needs Linux 5.9 or later"
                    + " on x86-64 or arm64)";
            case Bpf.ENOMEM -> "; the kernel could not allocate the map (lower io.loadshare.offload.max-flows)";
            default -> "";
        };
    }
}
