/** Entering Linux network namespaces, so that sockets and captures can be opened inside one. */
package io.loadshare.core.netns;
