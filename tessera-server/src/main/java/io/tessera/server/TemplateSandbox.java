package io.tessera.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
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
import java.beans.FeatureDescriptor;
import java.util.AbstractCollection;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * A Jinjava engine that renders an untrusted template within {@link TemplateLimits}. The limits
 * are enforced inside the renderer, on the rendering thread:
 * <ul>
 *   <li>every template node rendered and every loop iteration is one step, charged against the
 *       step budget and followed by a check of the deadline;</li>
 *   <li>the output and every string or collection the template builds are capped by Jinjava;</li>
 *   <li>operations that allocate in proportion to a number the template chooses (filter arguments
 *       such as {@code center(10**9)}, {@code format} widths, the Java methods {@code repeat},
 *       {@code indent}, {@code format(ted)} that strings expose, replacements whose result would
 *       be too long) are refused above the output cap, before they allocate;</li>
 *   <li>the Java regular-expression methods of strings ({@code split}, {@code matches},
 *       {@code replaceAll}, {@code replaceFirst}) match over a view of the text that checks the
 *       deadline, so a backtracking pattern cannot hold the thread past it;</li>
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
                .withElResolver(new DeadlineRegexResolver(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY,
                        limits.maxOutputChars()))
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
            boolean fatal = e.getSeverity() == TemplateError.ErrorType.FATAL;
            if (e.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG
                    || (e.getReason() == TemplateError.ErrorReason.COLLECTION_TOO_BIG && fatal)) {
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
            if (exceeded == null && --stepsLeft < 0) {
                exceeded = "more than " + limits.maxSteps() + " steps (template nodes and loop iterations)";
            }
            checkDeadline();
        }

        void checkDeadline() {
            if (exceeded == null && System.nanoTime() - deadline > 0) {
                exceeded = "more than " + limits.maxRenderTime().toMillis() + " ms";
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

    /**
     * Refuses a replacement whose result would exceed the output cap, before it is built: one
     * replacement is a multiplication (length of the text over that of the target, times that of
     * the replacement).
     */
    private static void checkReplacement(String what, String text, String target, String replacement, int maxChars) {
        long count = 0;
        if (target.isEmpty()) {
            count = text.length() + 1L;
        } else {
            for (int i = text.indexOf(target); i >= 0; i = text.indexOf(target, i + target.length())) {
                count++;
            }
        }
        long length = text.length() + count * (replacement.length() - (long) target.length());
        if (length > maxChars) {
            refuse(what + " would build " + length + " characters, more than the output limit of " + maxChars);
        }
    }

    /** Fails the rendering on this thread if its deadline has passed. */
    private static void checkDeadline() {
        RenderBudget b = CURRENT.get();
        if (b != null) {
            b.checkDeadline();
        }
    }

    /**
     * The template's resolver, except that the regular-expression methods of strings run over a
     * {@link DeadlineText}: Java's backtracking matcher reads its input through {@code charAt}, so
     * that is where a catastrophic pattern is stopped. Results are those of the String methods.
     */
    private static final class DeadlineRegexResolver extends ELResolver {
        private final ELResolver delegate;
        private final int maxChars;

        DeadlineRegexResolver(ELResolver delegate, int maxChars) {
            this.delegate = delegate;
            this.maxChars = maxChars;
        }

        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (base instanceof String text && "replace".equals(String.valueOf(method)) && params != null
                    && params.length == 2 && params[0] instanceof CharSequence target
                    && params[1] instanceof CharSequence replacement) {
                checkReplacement("the method 'replace'", text, target.toString(), replacement.toString(), maxChars);
            }
            if (base instanceof String text && method != null && params != null && params.length >= 1
                    && params[0] instanceof String regex) {
                Object result = switch (method.toString()) {
                    case "split" -> params.length == 1 ? Pattern.compile(regex).split(new DeadlineText(text)) : null;
                    case "matches" -> params.length == 1 ? Pattern.compile(regex).matcher(new DeadlineText(text))
                            .matches() : null;
                    case "replaceAll" -> params.length == 2 && params[1] instanceof String r
                            ? Pattern.compile(regex).matcher(new DeadlineText(text)).replaceAll(r) : null;
                    case "replaceFirst" -> params.length == 2 && params[1] instanceof String r
                            ? Pattern.compile(regex).matcher(new DeadlineText(text)).replaceFirst(r) : null;
                    default -> null;
                };
                if (result != null) {
                    context.setPropertyResolved(true);
                    return result;
                }
            }
            return delegate.invoke(context, base, method, paramTypes, params);
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return delegate.getCommonPropertyType(context, base);
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return delegate.getFeatureDescriptors(context, base);
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return delegate.getType(context, base, property);
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return delegate.getValue(context, base, property);
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return delegate.isReadOnly(context, base, property);
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {
            delegate.setValue(context, base, property, value);
        }
    }

    /** A string whose characters, read by a matcher, check the rendering's deadline now and then. */
    private record DeadlineText(String text, int[] reads) implements CharSequence {
        DeadlineText(String text) {
            this(text, new int[1]);
        }

        @Override
        public char charAt(int index) {
            if ((++reads[0] & 0xfff) == 0) {
                checkDeadline();
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new DeadlineText(text.substring(start, end), reads);
        }

        @Override
        public String toString() {
            return text;
        }
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
            if (getName().equals("replace") && var != null && args != null && args.length >= 2 && args[0] != null
                    && args[1] != null) {
                checkReplacement("filter 'replace'", var.toString(), args[0].toString(), args[1].toString(), maxChars);
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
