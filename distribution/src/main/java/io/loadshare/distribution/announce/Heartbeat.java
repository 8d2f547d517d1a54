package io.loadshare.distribution.announce;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Whether every worker's event loop still runs tasks: each look posts a tiny task to every loop, which notes when it
 * ran, and judges by the last notes. A loop that is wedged (a handler stuck, a loop thread gone) stops noting, and
 * after {@code staleAfter} the dispatcher no longer counts as able to serve, however healthy its pools look. It never
 * waits for a loop: the announcer's thread only posts and reads.
 */
public final class Heartbeat {
    private final List<? extends Executor> loops;
    private final AtomicLongArray beats;
    private final long staleAfterNanos;

    public Heartbeat(List<? extends Executor> loops, Duration staleAfter) {
        this.loops = List.copyOf(loops);
        this.beats = new AtomicLongArray(loops.size());
        this.staleAfterNanos = staleAfter.toNanos();
        long now = System.nanoTime();
        for (int i = 0; i < beats.length(); i++) {
            beats.set(i, now);
        }
    }

    /** Asks every loop for a beat, and answers whether each answered within {@code staleAfter}. */
    public boolean alive() {
        long now = System.nanoTime();
        boolean alive = true;
        for (int i = 0; i < loops.size(); i++) {
            int loop = i;
            try {
                loops.get(i).execute(() -> beats.set(loop, System.nanoTime()));
            } catch (RejectedExecutionException e) {
                return false;
            }
            alive &= now - beats.get(i) <= staleAfterNanos;
        }
        return alive;
    }
}
