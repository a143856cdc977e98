package io.tessera.router;

import java.net.URI;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A client's request target, accepted only in origin form ({@code /path[?query]}) and normalised as a
 * path: unreserved characters percent-decoded, dot segments resolved, repeated slashes collapsed.
 *
 * <p>Invariant: {@link #on(URI)} yields a URI whose scheme and authority are exactly the replica's;
 * nothing a client sends can name another host. Absolute form ({@code http://host/...}), authority
 * form ({@code host:443}), asterisk form, scheme-relative paths ({@code //host/...}), fragments,
 * malformed percent-escapes and characters outside RFC 3986's path and query sets are refused.
 */
public record RequestTarget(String path, String query) {

    /** A target the router refuses; the message says what is wrong with it. */
    public static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    private static final String UNRESERVED_PUNCTUATION = "-._~";
    private static final String SUB_DELIMS = "!$&'()*+,;=";

    public static RequestTarget parse(String raw) throws Invalid {
        if (raw == null || raw.isEmpty()) {
            throw new Invalid("The request target is empty");
        }
        if (raw.charAt(0) != '/') {
            throw new Invalid("The request target must be a path starting with '/' (origin form), got "
                    + quote(raw));
        }
        if (raw.startsWith("//")) {
            throw new Invalid("The request target must be a path, not a host reference, got " + quote(raw));
        }
        int q = raw.indexOf('?');
        String rawPath = q < 0 ? raw : raw.substring(0, q);
        String query = q < 0 ? null : raw.substring(q + 1);
        check(rawPath, false, raw);
        if (query != null) {
            check(query, true, raw);
        }
        return new RequestTarget(removeDotSegments(decodeUnreserved(rawPath)), query);
    }

    /** The origin-form target as sent upstream. */
    public String originForm() {
        return query == null ? path : path + "?" + query;
    }

    /** This target on a replica: the replica's scheme and authority, this path and query. */
    public URI on(URI replica) {
        URI u = URI.create(replica.getScheme() + "://" + replica.getRawAuthority() + originForm());
        if (!replica.getScheme().equals(u.getScheme()) || !replica.getRawAuthority().equals(u.getRawAuthority())) {
            throw new IllegalStateException("a normalised target left its replica: " + u);
        }
        return u;
    }

    /** Every character a pchar (or '/'; and '?' in a query), every '%' followed by two hex digits. */
    private static void check(String s, boolean inQuery, String raw) throws Invalid {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length() || hex(s.charAt(i + 1)) < 0 || hex(s.charAt(i + 2)) < 0) {
                    throw new Invalid("The request target has a malformed percent-escape (a '%' must be followed "
                            + "by two hex digits): " + quote(raw));
                }
                i += 2;
            } else if (!(unreserved(c) || SUB_DELIMS.indexOf(c) >= 0 || c == ':' || c == '@' || c == '/'
                    || (inQuery && c == '?'))) {
                throw new Invalid("The request target contains " + describe(c) + ", which must be percent-encoded: "
                        + quote(raw));
            }
        }
    }

    private static boolean unreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || UNRESERVED_PUNCTUATION.indexOf(c) >= 0;
    }

    private static int hex(char c) {
        return c < 128 ? Character.digit(c, 16) : -1;
    }

    /** Percent-escapes of unreserved characters become the characters (RFC 3986 6.2.2.2), others stay. */
    private static String decodeUnreserved(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                char d = (char) (hex(s.charAt(i + 1)) * 16 + hex(s.charAt(i + 2)));
                if (unreserved(d)) {
                    b.append(d);
                } else {
                    b.append('%').append(Character.toUpperCase(s.charAt(i + 1)))
                            .append(Character.toUpperCase(s.charAt(i + 2)));
                }
                i += 2;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** "." and ".." resolved, empty segments dropped; the result starts with exactly one '/'. */
    private static String removeDotSegments(String path) {
        Deque<String> out = new ArrayDeque<>();
        String[] segments = path.split("/", -1);
        for (int i = 1; i < segments.length; i++) {
            String seg = segments[i];
            boolean last = i == segments.length - 1;
            if (seg.equals("..")) {
                out.pollLast();
                if (last) {
                    out.addLast("");
                }
            } else if (seg.equals(".") || seg.isEmpty()) {
                if (last) {
                    out.addLast("");
                }
            } else {
                out.addLast(seg);
            }
        }
        String joined = String.join("/", out);
        return "/" + joined;
    }

    private static String describe(char c) {
        if (c < 0x20 || c == 0x7f) {
            return String.format("the control character U+%04X", (int) c);
        }
        if (c > 0x7e) {
            return String.format("the non-ASCII character U+%04X", (int) c);
        }
        return "'" + c + "'";
    }

    /** The target for an error message: at most 200 characters, control characters escaped. */
    static String quote(String raw) {
        StringBuilder b = new StringBuilder("'");
        for (int i = 0; i < raw.length() && i < 200; i++) {
            char c = raw.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append(raw.length() > 200 ? "...'" : "'").toString();
    }
}
