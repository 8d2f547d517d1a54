/** Zero-copy header views, addresses and Internet checksums over Netty {@code ByteBuf}s. */
package io.loadshare.core.packet;
