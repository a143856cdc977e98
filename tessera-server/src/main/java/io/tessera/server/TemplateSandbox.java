package io.tessera.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaNodePreProcessor;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.util.AbstractCollection;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Jinjava engine that renders an untrusted template within {@link TemplateLimits}. The limits
 * are enforced inside the renderer, on the rendering thread:
 * <ul>
 *   <li>every template node rendered and every loop iteration is one step, charged against the
 *       step budget and followed by a check of the deadline;</li>
 *   <li>the output and every string or collection the template builds are capped by Jinjava;</li>
 *   <li>operations that allocate in proportion to a number the template chooses (filter arguments
 *       such as {@code center(10**9)}, {@code format} widths, the Java methods {@code repeat},
 *       {@code indent}, {@code format(ted)} that strings expose) are refused above the output cap,
 *       before they allocate;</li>
 *   <li>values are never interpreted again: a message whose content holds {@code {{ ... }}} is
 *       text, not template (Jinjava's nested interpretation is off).</li>
 * </ul>
 */
final class TemplateSandbox {

    /** Java methods of strings that build a result as large as a number they are given. */
    private static final Set<String> AMPLIFYING_METHODS = Set.of("repeat", "indent", "format", "formatted");

    /** A printf conversion with its optional width and precision, as the {@code format} filter reads them. */
    private static final Pattern FORMAT_SPEC = Pattern.compile("%(?:\\d+\\$)?[-#+ 0,(<]*(\\d+)?(?:\\.(\\d+))?");

    /** The budget of the rendering running on this thread, if any. */
    private static final ThreadLocal<RenderBudget> CURRENT = new ThreadLocal<>();

    private final TemplateLimits limits;
    private final Jinjava jinjava;

    TemplateSandbox(TemplateLimits limits) {
        this.limits = limits;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withNestedInterpretationEnabled(false)
                .withMaxOutputSize(limits.maxOutputChars())
                .withMaxStringLength(limits.maxOutputChars())
                .withMaxListSize(1 << 20)
                .withMaxMapSize(1 << 20)
                .withRestrictedMethods(AMPLIFYING_METHODS)
                .withProcessors(JinjavaProcessors.newBuilder().withNodePreProcessor(new StepCharge()).build())
                .build());
        jinjava.getGlobalContext().registerTag(new CountedForTag());
        for (Filter f : List.copyOf(jinjava.getGlobalContext().getAllFilters())) {
            jinjava.getGlobalContext().registerFilter(new BoundedFilter(f, limits.maxOutputChars()));
        }
    }

    /** The engine, to register functions on its global context. */
    Jinjava jinjava() {
        return jinjava;
    }

    /**
     * Renders within the limits.
     *
     * @throws LimitExceededException when the rendering ran out of steps or time, or built something too large
     */
    RenderResult render(String template, Map<String, Object> context) {
        RenderBudget budget = new RenderBudget(limits);
        CURRENT.set(budget);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (RuntimeException e) {
            budget.rethrowIfExceeded();
            throw e;
        } finally {
            CURRENT.remove();
        }
        budget.rethrowIfExceeded();
        for (TemplateError e : result.getErrors()) {
            if (e.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG
                    || e.getReason() == TemplateError.ErrorReason.COLLECTION_TOO_BIG && e.getSeverity()
                    == TemplateError.ErrorType.FATAL) {
                throw new LimitExceededException(e.getMessage());
            }
        }
        return result;
    }

    /** A rendering broke one of the {@link TemplateLimits}. */
    static final class LimitExceededException extends RuntimeException {
        LimitExceededException(String message) {
            super(message);
        }
    }

    /** Steps and deadline of one rendering. Once exceeded, every further step fails at once. */
    private static final class RenderBudget {
        private final TemplateLimits limits;
        private final long deadline;
        private long stepsLeft;
        private String exceeded;

        RenderBudget(TemplateLimits limits) {
            this.limits = limits;
            this.deadline = System.nanoTime() + limits.maxRenderTime().toNanos();
            this.stepsLeft = limits.maxSteps();
        }

        void step() {
            if (exceeded == null) {
                if (--stepsLeft < 0) {
                    exceeded = "more than " + limits.maxSteps() + " steps (template nodes and loop iterations)";
                } else if (System.nanoTime() - deadline > 0) {
                    exceeded = "more than " + limits.maxRenderTime().toMillis() + " ms";
                }
            }
            if (exceeded != null) {
                throw new LimitExceededException(exceeded);
            }
        }

        void fail(String why) {
            if (exceeded == null) {
                exceeded = why;
            }
            throw new LimitExceededException(exceeded);
        }

        void rethrowIfExceeded() {
            if (exceeded != null) {
                throw new LimitExceededException(exceeded);
            }
        }
    }

    private static void step() {
        RenderBudget b = CURRENT.get();
        if (b != null) {
            b.step();
        }
    }

    private static void refuse(String why) {
        RenderBudget b = CURRENT.get();
        if (b != null) {
            b.fail(why);
        }
        throw new LimitExceededException(why);
    }

    /** Charges a step for every node, after Jinjava's own bookkeeping (current node, interrupt check). */
    private static final class StepCharge extends JinjavaNodePreProcessor {
        @Override
        public void accept(Node node, JinjavaInterpreter interpreter) {
            super.accept(node, interpreter);
            step();
        }
    }

    /**
     * Jinjava's {@code for}, charging a step for each iteration, so that an empty loop body costs
     * as much as a full one. Collections keep their size, so {@code loop.last} and {@code loop.length}
     * still work.
     */
    private static final class CountedForTag extends ForTag {
        @Override
        public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars,
                Object collection) {
            return super.renderForCollection(tagNode, interpreter, loopVars, counted(collection));
        }

        private static Object counted(Object collection) {
            return switch (collection) {
                case Collection<?> c -> new AbstractCollection<Object>() {
                    @Override
                    public Iterator<Object> iterator() {
                        return counted(c.iterator());
                    }

                    @Override
                    public int size() {
                        return c.size();
                    }
                };
                case Map<?, ?> m -> collection; // its size is capped, and its loop body's nodes are charged
                case Iterable<?> it -> (Iterable<Object>) () -> counted(it.iterator());
                case Iterator<?> it -> counted(it);
                case null, default -> collection;
            };
        }

        private static Iterator<Object> counted(Iterator<?> it) {
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public Object next() {
                    step();
                    return it.next();
                }
            };
        }
    }

    /**
     * A filter whose numeric arguments (and, for {@code format}, printf widths) may not exceed the
     * output cap: a result that large would be refused anyway, after allocating it.
     */
    private record BoundedFilter(Filter delegate, int maxChars) implements Filter {

        @Override
        public String getName() {
            return delegate.getName();
        }

        @Override
        public boolean preserveSafeString() {
            return delegate.preserveSafeString();
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            check(var, args);
            return delegate.filter(var, interpreter, args);
        }

        @Override
        public Object filter(SafeString var, JinjavaInterpreter interpreter, String... args) {
            check(var, args);
            return delegate.filter(var, interpreter, args);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            check(var, args);
            if (kwargs != null) {
                check(var, kwargs.values().toArray());
            }
            return delegate.filter(var, interpreter, args, kwargs);
        }

        private void check(Object var, Object[] args) {
            if (args != null) {
                for (Object a : args) {
                    if (magnitude(a) > maxChars) {
                        refuse("filter '" + getName() + "' was given " + a + ", more than the output limit of "
                                + maxChars + " characters");
                    }
                }
            }
            if (getName().equals("format") && var != null) {
                Matcher m = FORMAT_SPEC.matcher(var.toString());
                while (m.find()) {
                    for (int g = 1; g <= 2; g++) {
                        if (m.group(g) != null && magnitude(m.group(g)) > maxChars) {
                            refuse("filter 'format' was given the width " + m.group(g)
                                    + ", more than the output limit of " + maxChars + " characters");
                        }
                    }
                }
            }
        }

        /** The absolute value of a number or numeric string, 0 for anything else. */
        private static double magnitude(Object a) {
            if (a instanceof Number n) {
                return Math.abs(n.doubleValue());
            }
            if (a instanceof CharSequence s && !s.isEmpty() && s.length() < 400) {
                try {
                    return Math.abs(Double.parseDouble(s.toString()));
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
            return 0;
        }
    }
}
