/** The handlers every dispatch pipeline shares: decode, classify, schedule and emit, around a mode's rewriter. */
package io.loadshare.core.pipeline;
