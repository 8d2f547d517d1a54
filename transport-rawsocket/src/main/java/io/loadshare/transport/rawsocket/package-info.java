/** A Netty channel over a Linux AF_PACKET socket, opened through the FFM API and driven by Netty's epoll loop. */
package io.loadshare.transport.rawsocket;
