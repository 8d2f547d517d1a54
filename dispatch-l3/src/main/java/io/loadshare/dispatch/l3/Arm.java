package io.loadshare.dispatch.l3;

/** Which side of an LSNAT dispatcher a channel serves. */
public enum Arm {
    /** Faces the clients: receives requests for the cluster addresses, sends replies. */
    CLIENT,
    /** Faces the backends: sends requests, receives replies. */
    BACKEND,
    /** One interface for both (one-armed): the backends' default route points at the dispatcher. */
    BOTH;

    boolean facesClients() {
        return this != BACKEND;
    }

    boolean facesBackends() {
        return this != CLIENT;
    }
}
