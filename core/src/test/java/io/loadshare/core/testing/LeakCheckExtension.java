package io.loadshare.core.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty reports a leaked buffer. Registered for every test class by JUnit's extension
 * auto-detection; it insists on the paranoid level, so that every buffer is tracked.
 *
 * <p>Leaks surface when the garbage collector has enqueued an unreleased buffer and the detector next tracks a
 * new one, so after each test this forces a collection and allocates a few tracked buffers.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterEachCallback {
    private static final int ROUNDS = 3;

    @Override
    public void beforeAll(ExtensionContext context) {
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            throw new IllegalStateException("tests must run with -Dio.netty.leakDetection.level=paranoid, not "
                    + ResourceLeakDetector.getLevel());
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        assertNoLeaks(context.getDisplayName());
    }

    /** Collects garbage, drives the detector, and throws if any buffer leaked since the last call. */
    public static void assertNoLeaks(String testName) throws InterruptedException {
        for (int i = 0; i < ROUNDS; i++) {
            System.gc();
            Thread.sleep(20);
            touch(PooledByteBufAllocator.DEFAULT);
            touch(ByteBufAllocator.DEFAULT);
            Unpooled.directBuffer(1).release();
        }
        List<String> leaks = FailingLeakDetector.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " ByteBuf leak(s) in " + testName + ":\n"
                    + String.join("\n", leaks));
        }
    }

    private static void touch(ByteBufAllocator allocator) {
        ByteBuf heap = allocator.heapBuffer(1);
        ByteBuf direct = allocator.directBuffer(1);
        heap.release();
        direct.release();
    }
}
