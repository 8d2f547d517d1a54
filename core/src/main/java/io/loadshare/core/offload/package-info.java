/** The pipeline's side of an in-kernel fast path: the offload interface and the handler that hands it sessions. */
package io.loadshare.core.offload;
