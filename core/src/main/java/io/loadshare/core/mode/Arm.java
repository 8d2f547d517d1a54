package io.loadshare.core.mode;

/** Which side of a dispatcher a channel serves: one interface for both, or one interface for each. */
public enum Arm {
    /** Faces the clients: receives requests for the cluster addresses (and, in LSNAT, sends the replies). */
    CLIENT,
    /** Faces the backends: sends requests (and, in LSNAT, receives the replies). */
    BACKEND,
    /**
     * One interface for both: LSMAC's only arm, and one-armed LSNAT (the backends' default route points at the
     * dispatcher).
     */
    BOTH;

    public boolean facesClients() {
        return this != BACKEND;
    }

    public boolean facesBackends() {
        return this != CLIENT;
    }
}
