package io.loadshare.core.pipeline;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import java.util.Objects;

/**
 * The shape every dispatch mode shares: decode → classify → schedule → rewrite → offload → emit, under fixed
 * handler names, so that a mode (or a user assembling a pipeline in code) supplies only the rewriter and can find
 * or replace any step by name. The offload step hands established sessions to the context's fast path, if one is
 * attached, and otherwise passes every packet on.
 */
public final class DispatchPipeline {
    public static final String DECODER = "decoder";
    public static final String CLASSIFIER = "classifier";
    public static final String SCHEDULER = "scheduler";
    public static final String REWRITER = "rewriter";
    public static final String OFFLOADER = "offloader";
    public static final String EMITTER = "emitter";

    private DispatchPipeline() {
    }

    /** Adds the six steps at the end of the pipeline; {@code rewriter} is the mode's own step. */
    public static void install(ChannelPipeline pipeline, DispatchContext context, ChannelHandler rewriter) {
        Objects.requireNonNull(rewriter, "rewriter");
        pipeline.addLast(DECODER, new PacketDecoder(context));
        pipeline.addLast(CLASSIFIER, new ClassifyHandler(context));
        pipeline.addLast(SCHEDULER, new ScheduleHandler(context));
        pipeline.addLast(REWRITER, rewriter);
        pipeline.addLast(OFFLOADER, new OffloadHandler(context));
        pipeline.addLast(EMITTER, new EmitHandler(context));
    }
}
