package io.loadshare.core.session;

/** Told, on the table's event loop, about every session that leaves the table. */
@FunctionalInterface
public interface SessionListener {
    /** @param natPort the session's translated port, or 0 when its mode translates none */
    void sessionClosed(int serviceIndex, int backendId, int natPort, SessionEnd end);
}
