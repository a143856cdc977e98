package io.tessera.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** Request targets as the router accepts them: origin form only, normalised as a path, always on the replica. */
class RequestTargetTest {

    private static String normalised(String raw) throws RequestTarget.Invalid {
        return RequestTarget.parse(raw).originForm();
    }

    @Test
    void pathsAreNormalised() throws Exception {
        assertEquals("/v1/completions", normalised("/v1/completions"));
        assertEquals("/v1/models/", normalised("/v1/models/"));
        assertEquals("/v1/models?a=1&b=/x?y", normalised("/v1/models?a=1&b=/x?y"));
        assertEquals("/health", normalised("/a/../health"));
        assertEquals("/health", normalised("/../../health"));
        assertEquals("/v1/models", normalised("//v1///./models".substring(1)));
        assertEquals("/v1/models", normalised("/v1/%6Dodels"));
        assertEquals("/health", normalised("/%2e%2E/health"));
        assertEquals("/a%2Fb", normalised("/a%2fb"));
        assertEquals("/", normalised("/.."));
        assertEquals("/x:1@y", normalised("/x:1@y"));
    }

    @Test
    void everyTargetStaysOnTheReplica() throws Exception {
        URI replica = URI.create("http://10.0.0.7:8000");
        for (String raw : new String[] {"/..//evil.example/x", "/.//evil.example", "/%2F%2Fevil.example/x",
                "/@evil.example", "/:80@evil.example/", "/x?http://evil.example/"}) {
            URI u = RequestTarget.parse(raw).on(replica);
            assertEquals("10.0.0.7:8000", u.getRawAuthority(), raw + " -> " + u);
            assertEquals("http", u.getScheme());
        }
    }

    @Test
    void anythingButAPathIsRefused() {
        for (String raw : new String[] {"", "*", "http://h/x", "https://h/", "//h/x", "///h", "h:443", "@h", "ftp:",
                "\\\\h\\x", "/a\\b", "/%", "/%4", "/%zz", "/?q=%zz", "/a b", "/a#f", "/a\u0000", "/caf\u00e9",
                "/a|b", "/{x}", "/a<b>"}) {
            assertThrows(RequestTarget.Invalid.class, () -> RequestTarget.parse(raw), raw);
        }
    }
}
