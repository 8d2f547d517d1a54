/** Backends and the immutable pool snapshots that the control plane publishes to the data plane. */
package io.loadshare.core.backend;
