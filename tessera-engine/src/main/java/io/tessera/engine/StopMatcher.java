package io.tessera.engine;

import java.util.List;

/**
 * Finds stop strings in streamed text, across token boundaries. Text that could still turn out to
 * be the start of a stop string is held back; text from a stop string on is never released.
 */
final class StopMatcher {

    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private String matched;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Adds text; returns what can be released now. After a match, releases nothing more. */
    String push(String text) {
        if (matched != null) {
            return "";
        }
        held.append(text);
        int first = -1;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
                matched = s;
            }
        }
        if (first >= 0) {
            String out = held.substring(0, first);
            held.setLength(0);
            return out;
        }
        int keep = 0;
        String h = held.toString();
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, h.length()); len > keep; len--) {
                if (h.regionMatches(h.length() - len, s, 0, len)) {
                    keep = len;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** The stop string found, or null. */
    String matched() {
        return matched;
    }

    /** Releases what is held (the sample ended for another reason). */
    String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }
}
