package dev.phiedge.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HttpSettingsTest {

    @Test
    void defaultsAreLoopbackOn9464() {
        assertEquals("127.0.0.1:9464", HttpSettings.defaults().listen());
    }

    @Test
    void readsHostAndPort() {
        assertEquals(new HttpSettings("127.0.0.1", 9464), HttpSettings.parse("127.0.0.1:9464"));
        assertEquals(new HttpSettings("0.0.0.0", 8080), HttpSettings.parse("0.0.0.0:8080"));
        assertEquals(new HttpSettings("localhost", 1), HttpSettings.parse(" localhost:1 "));
        assertEquals(new HttpSettings("edge-01.lan", 65535), HttpSettings.parse("edge-01.lan:65535"));
    }

    @Test
    void readsIpv6InBrackets() {
        HttpSettings loopback = HttpSettings.parse("[::1]:9464");
        assertEquals(new HttpSettings("::1", 9464), loopback);
        assertEquals("[::1]:9464", loopback.listen());
        assertEquals(new HttpSettings("::", 9464), HttpSettings.parse("[::]:9464"));
        assertEquals(new HttpSettings("fe80::1%eth0", 9100), HttpSettings.parse("[fe80::1%eth0]:9100"));
        assertEquals(new HttpSettings("::ffff:10.0.0.1", 80), HttpSettings.parse("[::ffff:10.0.0.1]:80"));
    }

    @Test
    void listenReadsBack() {
        for (String text : new String[] {"127.0.0.1:9464", "[::1]:9464", "localhost:80", "[fe80::1%eth0]:9100"}) {
            assertEquals(text, HttpSettings.parse(text).listen());
        }
    }

    @Test
    void saysWhatIsWrong() {
        assertProblem(null, "the listen address is empty");
        assertProblem("  ", "the listen address is empty");
        assertProblem("9464", "'9464' has no port");
        assertProblem("localhost", "'localhost' has no port");
        assertProblem("::1:9464", "an IPv6 address must be in brackets, as in [::1]:9464");
        assertProblem(":9464", "has no host; use 127.0.0.1");
        assertProblem("127.0.0.1:", "the port '' is not a number");
        assertProblem("127.0.0.1:http", "the port 'http' is not a number");
        assertProblem("127.0.0.1:-1", "the port '-1' is not a number");
        assertProblem("127.0.0.1:70000", "the port must be 1 to 65535, got 70000");
        assertProblem("127.0.0.1:0", "the port must be 1 to 65535, got 0");
        assertProblem("[::1]9464", "'[::1]9464' has no port after ']'");
        assertProblem("[::1", "'[::1' opens '[' without a closing ']'");
        assertProblem("[]:9464", "'' in brackets is not an IPv6 address");
        assertProblem("[localhost]:9464", "'localhost' in brackets is not an IPv6 address");
        assertProblem("my host:9464", "'my host' is not a host name or an IP address");
        assertProblem("http://127.0.0.1:9464", "give HOST:PORT without a scheme or path");
        assertProblem("127.0.0.1:9464/metrics", "the port '9464/metrics' is not a number");
    }

    @Test
    void recordRefusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new HttpSettings("", 9464));
        assertThrows(IllegalArgumentException.class, () -> new HttpSettings("127.0.0.1", 65536));
        assertEquals(0, new HttpSettings("127.0.0.1", 0).port()); // any free port, for tests
    }

    private static void assertProblem(String text, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HttpSettings.parse(text));
        assertTrue(e.getMessage().contains(expected), "for '" + text + "': " + e.getMessage());
    }
}
