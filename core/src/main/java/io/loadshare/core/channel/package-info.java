/** The base every raw-frame transport's Netty channel builds on: one frame per message, counted alike. */
package io.loadshare.core.channel;
