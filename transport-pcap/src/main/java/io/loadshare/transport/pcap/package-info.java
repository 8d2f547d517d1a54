/** libpcap live capture and pcap files as Netty channels, bound through the FFM API. */
package io.loadshare.transport.pcap;
