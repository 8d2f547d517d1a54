/** Single-writer data-plane counters: drops by reason and per-backend traffic and sessions. */
package io.loadshare.core.metrics;
