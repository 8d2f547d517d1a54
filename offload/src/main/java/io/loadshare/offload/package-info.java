/** The in-kernel fast path: XDP programs that repeat, for established flows, the rewrite the pipeline chose. */
package io.loadshare.offload;
