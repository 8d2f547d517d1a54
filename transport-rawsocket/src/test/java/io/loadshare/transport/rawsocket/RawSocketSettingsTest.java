package io.loadshare.transport.rawsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class RawSocketSettingsTest {
    @Test
    void defaultsComeFromReferenceConf() {
        RawSocketSettings settings = RawSocketSettings.defaults();
        assertTrue(settings.vnetHeader());
        assertTrue(settings.ignoreOutgoing());
        assertFalse(settings.ring().enabled());
        assertEquals(-1, settings.fanoutGroup());
        assertEquals(4 * 1024 * 1024, settings.receiveBufferSize());
    }

    @Test
    void ringCanBeTurnedOn() {
        RawSocketSettings settings = RawSocketSettings.from(ConfigFactory.parseString(
                "io.loadshare.transport.rawsocket.ring { enabled = true, block-count = 8 }"), RawSocketSettings.ROOT);
        assertEquals(RingSettings.frames(256 * 1024, 8, 2048), settings.ring());
        RawSocketSettings blocks = RawSocketSettings.from(ConfigFactory.parseString(
                "io.loadshare.transport.rawsocket.ring { enabled = true, version = 3 }"), RawSocketSettings.ROOT);
        assertEquals(RingSettings.blocks(256 * 1024, 64, 2048, 1), blocks.ring());
    }

    @Test
    void badValuesNameTheirKey() {
        ConfigException tooSmall = assertThrows(ConfigException.class, () -> RawSocketSettings.from(
                ConfigFactory.parseString("io.loadshare.transport.rawsocket { ring { enabled = true, version = 3, block-size = 64 KiB } }"),
                RawSocketSettings.ROOT));
        assertTrue(tooSmall.getMessage().contains("ring.block-size (65536) must be larger than max-frame-size"),
                tooSmall.getMessage());
        ConfigException typo = assertThrows(ConfigException.class, () -> RawSocketSettings.from(
                ConfigFactory.parseString("io.loadshare.transport.rawsocket.vnet-headers = false"), RawSocketSettings.ROOT));
        assertTrue(typo.getMessage().contains("io.loadshare.transport.rawsocket.vnet-headers: unknown key"),
                typo.getMessage());
        ConfigException inverted = assertThrows(ConfigException.class, () -> RawSocketSettings.from(
                ConfigFactory.parseString("io.loadshare.transport.rawsocket.write-buffer { low = 8 MiB, high = 4 MiB }"),
                RawSocketSettings.ROOT));
        assertTrue(inverted.getMessage().contains("write-buffer must have 0 <= low <= high"), inverted.getMessage());
    }

    @Test
    void writeBufferMarksReachTheChannel() {
        RawSocketSettings settings = RawSocketSettings.from(ConfigFactory.parseString(
                "io.loadshare.transport.rawsocket.write-buffer { low = 1 MiB, high = 8 MiB }"), RawSocketSettings.ROOT);
        RawSocketChannelConfig config = new RawSocketChannel().config().apply(settings);
        assertEquals(1024 * 1024, config.getWriteBufferLowWaterMark());
        assertEquals(8 * 1024 * 1024, config.getWriteBufferHighWaterMark());
        assertEquals(4 * 1024 * 1024, new RawSocketChannel().config().getWriteBufferHighWaterMark());
    }
}
