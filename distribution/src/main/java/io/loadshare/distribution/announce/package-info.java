/** Announcing the service addresses to a routing daemon (BIRD, FRR) while this dispatcher can serve them. */
package io.loadshare.distribution.announce;
