package io.loadshare.transport.rawsocket;

import java.io.IOException;

/** A failed packet-socket call, with the errno that libc gave and a message that says what to do about it. */
public final class RawSocketException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    RawSocketException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The libc errno, or 0 when the failure did not come from a call. */
    public int errno() {
        return errno;
    }

    static RawSocketException of(String call, int errno, String context) {
        String reason = Linux.errnoName(errno) + " (" + Linux.strerror(errno) + ")";
        if (errno == Linux.EPERM || errno == Linux.EACCES) {
            return new RawSocketException(call + " failed for " + context + ": " + reason
                    + ". Opening an AF_PACKET socket needs the CAP_NET_RAW capability: run as root, grant it to the JVM"
                    + " with 'setcap cap_net_raw,cap_net_admin+ep \"$(readlink -f \"$JAVA_HOME/bin/java\")\"', or run"
                    + " under systemd with AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN", errno);
        }
        return new RawSocketException(call + " failed for " + context + ": " + reason, errno);
    }
}
