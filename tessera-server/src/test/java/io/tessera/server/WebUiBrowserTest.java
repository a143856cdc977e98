package io.tessera.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web UI in a real headless Chromium (Debian's chromium and chromium-driver): load the page,
 * send a message, watch the streamed answer grow, read the live server numbers.
 */
class WebUiBrowserTest {

    static final String CHROMIUM = "/usr/bin/chromium";
    static final String CHROMEDRIVER = "/usr/bin/chromedriver";

    static TestServer ts;
    static WebDriver driver;
    static Path profile;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(new File(CHROMIUM).canExecute() && new File(CHROMEDRIVER).canExecute(),
                "SKIPPED: the browser test needs Debian's chromium and chromium-driver ("
                        + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install -y chromium chromium-driver");
        ts = new TestServer(ServerConfig.defaults());
        profile = Files.createTempDirectory("tessera-chromium-");
        // the driver is given explicitly, so Selenium Manager never downloads anything
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1200,900", "--user-data-dir=" + profile);
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (ts != null) {
            ts.close();
        }
        if (profile != null) {
            try (var walk = Files.walk(profile)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void chatStreamsAndLiveNumbersShow() throws Exception {
        driver.get(ts.url() + "/");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        wait.until(d -> d.findElement(By.id("model-name")).getText().contains(TestServer.MODEL));
        wait.until(d -> d.findElement(By.id("stat-kv")).getText().contains("blocks"));

        WebElement max = driver.findElement(By.id("max_tokens"));
        max.clear();
        max.sendKeys("400");
        driver.findElement(By.id("seed")).sendKeys("3");
        driver.findElement(By.id("input")).sendKeys("Tell me a story about a dog.");

        // the answer grows in place while it streams: a MutationObserver records every length it shows
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("""
                window.__lengths = [];
                new MutationObserver(() => {
                  const a = document.querySelector('.msg.assistant .text');
                  if (a) window.__lengths.push(a.textContent.length);
                }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
                """);
        driver.findElement(By.id("send")).click();
        wait.until(d -> d.findElement(By.id("send")).isEnabled());
        String answer = driver.findElement(By.cssSelector(".msg.assistant .text")).getText();
        assertTrue(answer.length() > 50, "an answer appeared: " + answer);
        Set<Long> lengths = new LinkedHashSet<>();
        for (Object o : (java.util.List<?>) ((org.openqa.selenium.JavascriptExecutor) driver)
                .executeScript("return window.__lengths;")) {
            lengths.add(((Number) o).longValue());
        }
        lengths.remove(0L);
        assertTrue(lengths.size() >= 3, "the text appeared piece by piece, lengths seen: " + lengths);
        assertEquals("Tell me a story about a dog.", driver.findElement(By.cssSelector(".msg.user .text")).getText());
        assertTrue(driver.findElement(By.id("gen-status")).getText().contains("tokens/s"),
                driver.findElement(By.id("gen-status")).getText());

        // live numbers: the running/waiting counts, and the tokens/s of the answer just generated
        wait.until(d -> d.findElement(By.id("stat-running")).getText().matches("\\d+"));
        assertTrue(driver.findElement(By.id("stat-waiting")).getText().matches("\\d+"));
        new WebDriverWait(driver, Duration.ofSeconds(10)).until(d ->
                Double.parseDouble(d.findElement(By.id("stat-tps")).getText()) > 0);
        assertTrue(driver.findElement(By.id("stat-kv")).getText().matches("[\\d.]+ % of 512 blocks"),
                driver.findElement(By.id("stat-kv")).getText());

        // a reply of 480 tokens no longer fits beside the first exchange in the 512-token context:
        // the oldest exchange is left out, said in a note, and the answer still comes
        max.clear();
        max.sendKeys("480");
        driver.findElement(By.id("input")).sendKeys("What happened next?");
        driver.findElement(By.id("send")).click();
        wait.until(d -> d.findElements(By.cssSelector(".msg.assistant .text")).size() == 2
                && d.findElement(By.id("send")).isEnabled());
        String note = driver.findElement(By.cssSelector(".msg.note .text")).getText();
        assertTrue(note.contains("left out to fit the model's context of 512 tokens"), note);
        assertTrue(driver.findElements(By.cssSelector(".msg.error")).isEmpty(), "no error shown");
        assertTrue(driver.findElement(By.id("gen-status")).getText().contains("tokens/s"),
                driver.findElement(By.id("gen-status")).getText());
    }

    @Test
    void apiKeyIsRememberedForTheSessionAndTheIconIsServed() {
        driver.get(ts.url() + "/");
        WebElement key = driver.findElement(By.id("api_key"));
        key.clear();
        key.sendKeys("sk-session-key");
        // the change event fires when the field loses focus
        driver.findElement(By.id("input")).click();
        driver.navigate().refresh();
        new WebDriverWait(driver, Duration.ofSeconds(20)).until(d ->
                "sk-session-key".equals(d.findElement(By.id("api_key")).getAttribute("value")));
        Object icon = ((org.openqa.selenium.JavascriptExecutor) driver).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                fetch('/favicon.ico').then(r => r.text().then(t => done(r.status + ' ' + r.headers.get('content-type')
                    + ' ' + t.startsWith('<svg')))).catch(e => done(String(e)));
                """);
        assertEquals("200 image/svg+xml true", icon);
    }
}
