// Issue 12's browser figure: from "Sign out all devices" returning (POST /v1/sessions/revoke-all from another device) to a
// page using the JavaScript client (clients/js, SessionWatcher on EventSource, Tessera's cookie) firing sessionended, in
// Debian's headless Chromium. Target: p99 < 200 ms over at least 100 runs. Started by bench/jsclient/run.sh.
//
//   Tessera.JsClientLatency --tessera http://127.0.0.1:5191 --client-dir clients/js [--runs 200] [--warmup 10] [--out file.csv]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

var options = Options.Parse(args);
using var http = new HttpClient { BaseAddress = new Uri(options.Tessera), Timeout = TimeSpan.FromSeconds(30) };
var email = $"bench-js-{Guid.NewGuid():N}"[..20] + "@example.test";
const string Password = "correct-horse-battery-9";
(await http.PostAsJsonAsync("/v1/auth/register", new { email, password = Password })).EnsureSuccessStatusCode();

using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
{
    ExecutablePath = options.Chromium,
    Headless = true,
    Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = options.Tessera });
var clientDir = Path.GetFullPath(options.ClientDir) + Path.DirectorySeparatorChar;
await context.RouteAsync($"{options.Tessera.TrimEnd('/')}/js-client/**", async route =>
{
    var path = new Uri(route.Request.Url).AbsolutePath["/js-client/".Length..];
    if (path == "page.html")
    {
        await route.FulfillAsync(new() { Status = 200, ContentType = "text/html; charset=utf-8", Body = Page.Html });
        return;
    }

    var file = Path.GetFullPath(Path.Combine(clientDir, path));
    if (!path.StartsWith("src/", StringComparison.Ordinal) || !file.StartsWith(clientDir, StringComparison.Ordinal) || !File.Exists(file))
    {
        await route.FulfillAsync(new() { Status = 404 });
        return;
    }

    await route.FulfillAsync(new() { Status = 200, ContentType = "text/javascript; charset=utf-8", Body = await File.ReadAllTextAsync(file) });
});
var page = await context.NewPageAsync();
await page.GotoAsync("/js-client/page.html");
await page.WaitForFunctionAsync("() => window.bench !== undefined");

var samples = new List<double>();
var total = options.Warmup + options.Runs;
var clock = Stopwatch.StartNew();
for (var run = 0; run < total; run++)
{
    // The page signs in (cookie mode) and its watcher holds the stream; another device signs in through the API.
    await page.EvaluateAsync("([e, p]) => window.bench.signInAndWatch(e, p)", new[] { email, Password });
    var login = await http.PostAsJsonAsync("/v1/auth/login", new { email, password = Password, device = new { name = "bench", platform = "api" } });
    login.EnsureSuccessStatusCode();
    var token = JsonDocument.Parse(await login.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString();

    using var revoke = new HttpRequestMessage(HttpMethod.Post, "/v1/sessions/revoke-all");
    revoke.Headers.Authorization = new("Bearer", token);
    (await http.SendAsync(revoke)).EnsureSuccessStatusCode();
    var returnedAt = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).TotalMilliseconds;

    // The wall-clock time (Date.now(), the same system clock) at which the page's watcher fired sessionended.
    var endedAt = await page.EvaluateAsync<double>("() => window.bench.ended");
    var reason = await page.EvaluateAsync<string>("() => window.bench.reason");
    if (reason != "signed_out_all_devices")
    {
        throw new InvalidOperationException($"Run {run}: the page was told '{reason}', not signed_out_all_devices.");
    }

    if (run >= options.Warmup)
    {
        samples.Add(endedAt - returnedAt);
    }
}

samples.Sort();
double Percentile(double p) => samples[Math.Clamp((int)Math.Ceiling(p / 100 * samples.Count) - 1, 0, samples.Count - 1)];
var culture = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(culture, $"runs: {samples.Count} (after {options.Warmup} warm-up), {clock.Elapsed.TotalSeconds:F0} s"));
Console.WriteLine("from revoke-all returning to the page's sessionended (ms; negative: the page heard it before the call returned)");
Console.WriteLine(string.Create(culture, $"min {samples[0]:F1}  p50 {Percentile(50):F1}  p90 {Percentile(90):F1}  p99 {Percentile(99):F1}  max {samples[^1]:F1}"));
var p99 = Percentile(99);
Console.WriteLine(p99 < 200 ? "target p99 < 200 ms: met" : "target p99 < 200 ms: NOT met");
if (options.Out is not null)
{
    await File.WriteAllLinesAsync(options.Out, ["latency_ms", .. samples.Select(s => s.ToString("F3", culture))]);
}

return p99 < 200 ? 0 : 1;

internal sealed record Options(string Tessera, string ClientDir, int Runs, int Warmup, string? Out, string Chromium)
{
    public static Options Parse(string[] args)
    {
        string? Value(string name)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }

        var tessera = Value("--tessera") ?? throw new ArgumentException("--tessera URL is required");
        var clientDir = Value("--client-dir") ?? throw new ArgumentException("--client-dir PATH (clients/js) is required");
        var runs = int.Parse(Value("--runs") ?? "200", CultureInfo.InvariantCulture);
        var warmup = int.Parse(Value("--warmup") ?? "10", CultureInfo.InvariantCulture);
        if (runs < 1 || warmup < 0)
        {
            throw new ArgumentException("--runs is at least 1, --warmup at least 0");
        }

        return new Options(tessera, clientDir, runs, warmup, Value("--out"), Value("--chromium") ?? "/usr/bin/chromium");
    }
}

internal static class Page
{
    public const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>JS client latency</title></head><body>
        <script type="module">
          import { TesseraClient, SessionWatcher } from './src/index.js';
          const client = new TesseraClient({ mode: 'cookie' });
          let resolveEnded;
          window.bench = {
            ended: null,
            reason: null,
            async signInAndWatch(email, password) {
              await client.signIn(email, password);
              window.bench.ended = new Promise((resolve) => { resolveEnded = resolve; });
              const watcher = new SessionWatcher(client);
              await new Promise((resolve) => {
                watcher.addEventListener('statechange', (event) => { if (event.state === 'connected') resolve(); });
                watcher.addEventListener('sessionended', (event) => {
                  const at = Date.now();
                  window.bench.reason = event.reason;
                  resolveEnded(at);
                });
                watcher.start();
              });
            },
          };
        </script>
        </body></html>
        """;
}
