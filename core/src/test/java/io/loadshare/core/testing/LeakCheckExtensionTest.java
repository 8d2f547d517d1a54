package io.loadshare.core.testing;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The leak check must fail on a real leak, or every green test run means nothing. */
class LeakCheckExtensionTest {
    @Test
    void aLeakedBufferFails() throws InterruptedException {
        leak();
        AssertionError error = assertThrows(AssertionError.class, () -> LeakCheckExtension.assertNoLeaks("probe"));
        assertTrue(error.getMessage().contains("LEAK"), error.getMessage());
        assertDoesNotThrow(() -> LeakCheckExtension.assertNoLeaks("after"));
    }

    private static void leak() {
        PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(42);
    }
}
