/** Backends found and kept up to date by ARP, for every mode that forwards frames to backends on a LAN. */
package io.loadshare.core.arp;
