package io.loadshare.core.testing;

import io.loadshare.core.packet.EtherType;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Drives a {@link FrameFuzzer}'s frames through a pipeline on an embedded channel and holds it to the data path's
 * promises, frame by frame: no exception escapes (the channel rethrows any that reaches its tail), no buffer
 * leaks (each input frame is released once the pipeline is done with it, forwarded or not), and every frame is
 * either forwarded or counted as a drop. ARP frames alone may be consumed without either: a reply updates a
 * tracker, a request is answered. Time moves 100 ms every thousand frames, so sweeps expire sessions and ARP
 * rounds run, as on a live dispatcher.
 */
public final class PipelineFuzz {
    /** What became of the frames, and how long they took. */
    public record Result(long frames, long forwarded, long dropped, long arpConsumed, double seconds) {
        /** One line for the test's output, with the drops by reason. */
        public String describe(String pipeline, java.util.Map<String, Long> dropsByReason) {
            return String.format(java.util.Locale.ROOT, "%s fuzz: %d frames in %.1f s: %d forwarded, %d dropped %s,"
                    + " %d ARP consumed", pipeline, frames, seconds, forwarded, dropped, dropsByReason, arpConsumed);
        }
    }

    private PipelineFuzz() {
    }

    /**
     * @param drops the pipeline's drop count so far, all reasons together
     * @throws AssertionError naming the frame number and the seed's frame when a promise is broken
     */
    public static Result run(EmbeddedChannel channel, FrameFuzzer fuzzer, long frames, LongSupplier drops) {
        long forwarded = 0;
        long dropped = 0;
        long arpConsumed = 0;
        long started = System.nanoTime();
        byte[] head = new byte[128];
        for (long n = 0; n < frames; n++) {
            if (n % 1000 == 0) {
                channel.advanceTimeBy(100, TimeUnit.MILLISECONDS);
                channel.runScheduledPendingTasks();
                releaseOutbound(channel, null);
            }
            ByteBuf frame = fuzzer.next();
            boolean arp = isArp(frame);
            // The frame as it came, for the message should it break a promise: the pipeline rewrites it in place.
            int headLength = Math.min(head.length, frame.readableBytes());
            frame.getBytes(frame.readerIndex(), head, 0, headLength);
            long dropsBefore = drops.getAsLong();
            channel.writeInbound(frame);
            int out = releaseOutbound(channel, frame);
            long counted = drops.getAsLong() - dropsBefore;
            if (frame.refCnt() != 0) {
                throw new AssertionError("frame " + n + " leaked (refCnt " + frame.refCnt() + "): "
                        + hex(head, headLength));
            }
            if (out + counted != 1 && !(arp && out + counted == 0)) {
                throw new AssertionError("frame " + n + " was forwarded " + out + " times and counted as dropped "
                        + counted + " times: " + hex(head, headLength));
            }
            forwarded += out;
            dropped += counted;
            arpConsumed += out + counted == 0 ? 1 : 0;
        }
        return new Result(frames, forwarded, dropped, arpConsumed, (System.nanoTime() - started) / 1e9);
    }

    private static String hex(byte[] bytes, int length) {
        return java.util.HexFormat.of().formatHex(bytes, 0, length);
    }

    /** An ARP frame, maybe behind an 802.1Q tag. */
    private static boolean isArp(ByteBuf frame) {
        int type = frame.readableBytes() >= 14 ? frame.getUnsignedShort(frame.readerIndex() + 12) : 0;
        if (type == 0x8100 && frame.readableBytes() >= 18) {
            type = frame.getUnsignedShort(frame.readerIndex() + 16);
        }
        return type == EtherType.ARP;
    }

    /** Releases what the pipeline sent; returns how many of those were {@code input} itself, forwarded. */
    private static int releaseOutbound(EmbeddedChannel channel, ByteBuf input) {
        int forwarded = 0;
        for (Object sent; (sent = channel.readOutbound()) != null; ) {
            if (input != null && sent == input) {
                forwarded++;
            }
            ((ByteBuf) sent).release();
        }
        return forwarded;
    }
}
