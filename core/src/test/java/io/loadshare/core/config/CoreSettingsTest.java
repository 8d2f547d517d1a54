package io.loadshare.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CoreSettingsTest {
    @Test
    void defaultsComeFromReferenceConf() {
        CoreSettings settings = CoreSettings.defaults();
        assertEquals(1_000_000, settings.session().maxSessions());
        assertEquals(Duration.ofSeconds(2), settings.session().tcpLinger());
        assertEquals(4095, settings.maxBackendId());
    }

    @Test
    void overridesApply() {
        CoreSettings settings = CoreSettings.from(ConfigFactory.parseString(
                "io.loadshare.core.session { max-sessions = 10, udp-idle-timeout = 5s }"));
        assertEquals(10, settings.session().maxSessions());
        assertEquals(Duration.ofSeconds(5), settings.session().udpIdleTimeout());
    }

    @Test
    void wrongTypeNamesTheKeyAndTheLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> CoreSettings.from(ConfigFactory.parseString(
                "io.loadshare.core.session {\n  tcp-linger = soon\n}", 
                com.typesafe.config.ConfigParseOptions.defaults().setOriginDescription("test.conf"))));
        assertTrue(e.getMessage().contains("test.conf: 2"), e.getMessage());
        assertTrue(e.getMessage().contains("io.loadshare.core.session.tcp-linger"), e.getMessage());
    }

    @Test
    void unknownKeyIsAnErrorWithTheKeysThatExist() {
        ConfigException e = assertThrows(ConfigException.class, () -> CoreSettings.from(ConfigFactory.parseString(
                "io.loadshare.core.session.tcp-lingr = 1s")));
        assertTrue(e.getMessage().contains("io.loadshare.core.session.tcp-lingr: unknown key"), e.getMessage());
        assertTrue(e.getMessage().contains("expected one of: max-sessions, persistence-templates, pressure, sweep-cycle"), e.getMessage());
    }

    @Test
    void outOfRangeValueNamesTheRoot() {
        ConfigException e = assertThrows(ConfigException.class, () -> CoreSettings.from(ConfigFactory.parseString(
                "io.loadshare.core.session.max-sessions = 0")));
        assertTrue(e.getMessage().contains("io.loadshare.core"), e.getMessage());
        assertTrue(e.getMessage().contains("max-sessions must be 1.."), e.getMessage());
    }
}
