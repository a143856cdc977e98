package io.tessera.benchmarks.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;
import javax.imageio.ImageIO;

/**
 * Writes a drawing to a file chosen by its name: {@code .png} (Java2D, headless), {@code .svg}, or
 * {@code .html}/{@code .htm} (a self-contained page with the SVG inline).
 */
public final class ChartFile {

    private ChartFile() {
    }

    /** Refuses a file name that is neither PNG nor SVG/HTML, before any measurement runs. */
    public static void check(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!(name.endsWith(".png") || name.endsWith(".html") || name.endsWith(".htm") || name.endsWith(".svg"))) {
            throw new IllegalArgumentException("--plot takes a .png or .html file, got " + file);
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("--plot: the directory " + parent + " does not exist");
        }
    }

    public static void write(Path file, int width, int height, String title, Consumer<Canvas> drawing)
            throws IOException {
        check(file);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            drawing.accept(new Java2dCanvas(g));
            g.dispose();
            ImageIO.write(img, "png", file.toFile());
            return;
        }
        SvgCanvas svg = new SvgCanvas();
        drawing.accept(svg);
        String doc = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + width + "\" height=\"" + height
                + "\" font-family=\"sans-serif\">" + svg.sb + "</svg>";
        if (!name.endsWith(".svg")) {
            doc = "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + esc(title)
                    + "</title></head><body style=\"margin:0\">" + doc + "</body></html>";
        }
        Files.writeString(file, doc, StandardCharsets.UTF_8);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final class SvgCanvas implements Canvas {
        final StringBuilder sb = new StringBuilder();

        @Override
        public void rect(double x, double y, double w, double h, String color) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                    x, y, w, h, color));
        }

        @Override
        public void line(double x1, double y1, double x2, double y2, String color, double width) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    + "stroke-width=\"%.1f\"/>", x1, y1, x2, y2, color, width));
        }

        @Override
        public void text(double x, double y, String s, int size, boolean bold, String anchor) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"%s text-anchor=\"%s\">%s</text>",
                    x, y, size, bold ? " font-weight=\"bold\"" : "", anchor, esc(s)));
        }
    }

    private static final class Java2dCanvas implements Canvas {
        final Graphics2D g;

        Java2dCanvas(Graphics2D g) {
            this.g = g;
        }

        @Override
        public void rect(double x, double y, double w, double h, String color) {
            g.setColor(Color.decode(color));
            g.fill(new Rectangle2D.Double(x, y, w, h));
        }

        @Override
        public void line(double x1, double y1, double x2, double y2, String color, double width) {
            g.setColor(Color.decode(color));
            g.setStroke(new BasicStroke((float) width));
            g.draw(new Line2D.Double(x1, y1, x2, y2));
        }

        @Override
        public void text(double x, double y, String s, int size, boolean bold, String anchor) {
            g.setColor(Color.decode("#222222"));
            g.setFont(new Font(Font.SANS_SERIF, bold ? Font.BOLD : Font.PLAIN, size));
            double w = g.getFontMetrics().stringWidth(s);
            double dx = switch (anchor) {
                case "middle" -> -w / 2;
                case "end" -> -w;
                default -> 0;
            };
            g.drawString(s, (float) (x + dx), (float) y);
        }
    }
}
