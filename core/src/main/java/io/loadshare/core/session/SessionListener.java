package io.loadshare.core.session;

/** Told, on the table's event loop, about every session that leaves the table. */
@FunctionalInterface
public interface SessionListener {
    void sessionClosed(int serviceIndex, int backendId, SessionEnd end);
}
