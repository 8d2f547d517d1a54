package io.loadshare.core.session;

/**
 * Told, on the table's event loop, of each change another dispatcher needs to continue a session: a session opened,
 * took its NAT port, or became established, and a session left. It reads the slot through the table's accessors
 * before the call returns; the slot may move afterwards. An implementation must not allocate or block: it runs on
 * the data path.
 */
public interface SessionJournal {
    /** Records nothing: a dispatcher without session sync. */
    SessionJournal NONE = new SessionJournal() {
        @Override
        public void changed(SessionTable table, int slot) {
        }

        @Override
        public void closed(SessionTable table, int slot, SessionEnd end) {
        }
    };

    /** The session in {@code slot} opened, or its NAT port or state changed. */
    void changed(SessionTable table, int slot);

    /** The session in {@code slot} is about to leave the table for {@code end}. */
    void closed(SessionTable table, int slot, SessionEnd end);

    /**
     * A persistence template was set or refreshed: a service's client network goes to a backend for
     * {@code lifetimeMillis} from now.
     */
    default void template(int serviceIndex, int network, int backendId, int lifetimeMillis) {
    }
}
