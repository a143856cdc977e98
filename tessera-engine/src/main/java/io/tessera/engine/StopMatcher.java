package io.tessera.engine;

import java.util.List;

/**
 * Finds stop strings in one sample's streamed text, across token boundaries. The stop string that
 * ends first in the text wins (the longest of those ending at the same character), so the result
 * does not depend on how the text was split into pushes. Text that could still turn out to be the
 * start of a stop string is held back; text from a stop string on is never released.
 */
final class StopMatcher {

    private final StopStrings automaton;
    /** The text not released yet: exactly the last {@code automaton.depth(state)} characters read. */
    private final StringBuilder held = new StringBuilder();
    private int state = StopStrings.root();
    private String matched;

    StopMatcher(StopStrings automaton) {
        this.automaton = automaton;
    }

    StopMatcher(List<String> stops) {
        this(new StopStrings(stops));
    }

    /** Adds text; returns what can be released now. After a match, releases nothing more. */
    String push(String text) {
        if (matched != null) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            state = automaton.next(state, c);
            held.append(c);
            String stop = automaton.matchAt(state);
            if (stop != null) {
                matched = stop;
                out.append(held, 0, held.length() - stop.length());
                held.setLength(0);
                return out.toString();
            }
        }
        int release = held.length() - automaton.depth(state);
        out.append(held, 0, release);
        held.delete(0, release);
        return out.toString();
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
