using System.Text.RegularExpressions;

[assembly: AssemblyFixture(typeof(WebConsole))]

// The browser tests time pushes to the second; they run one at a time so a busy machine does not blur that.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Tessera.Web.Tests.Infrastructure;

/// <summary>
/// One server and one headless Chromium (Debian's, at /usr/bin/chromium) for the whole suite. Each test opens browser
/// contexts of its own (a context is a device: its own cookies) and works on users of its own.
/// </summary>
public sealed partial class WebConsole : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>User agents of the devices people sign in from, so each session has its own name on the page.</summary>
    public static class Devices
    {
        public const string WindowsChrome =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

        public const string MacFirefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0";

        public const string IPhoneSafari =
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    }

    private IPlaywright? _playwright;

    public TesseraWebServer Server { get; } = new();

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl => Server.BaseUrl;

    public async ValueTask InitializeAsync()
    {
        Server.Start();
        Browser = await LaunchAsync();
    }

    /// <summary>Playwright on the system's Chromium; never a downloaded browser.</summary>
    public async Task<IBrowser> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run eng/debian-packages.sh /usr/bin/chromium chromium fonts-liberation (Debian's chromium).");
        }

        _playwright ??= await Playwright.CreateAsync();
        return await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>A new device: its own cookies, a desktop window, and the given user agent.</summary>
    public Task<IBrowserContext> NewDeviceAsync(string? userAgent = null, string? baseUrl = null, ViewportSize? viewport = null, string? timezone = null, bool script = true) =>
        NewDeviceAsync(Browser, userAgent, baseUrl ?? BaseUrl, viewport, timezone, script);

    /// <summary>A new device; with <paramref name="script"/> false, a browser whose JavaScript is off (or whose script failed).</summary>
    public static async Task<IBrowserContext> NewDeviceAsync(
        IBrowser browser, string? userAgent, string baseUrl, ViewportSize? viewport = null, string? timezone = null, bool script = true)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            UserAgent = userAgent,
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 860 },
            Locale = "en-US",
            TimezoneId = timezone ?? "UTC",
            JavaScriptEnabled = script,
        });
        context.SetDefaultTimeout(10_000);
        return context;
    }

    /// <summary>An email address no other test uses.</summary>
    public static string NewEmail(string who) => $"{who}-{Guid.NewGuid():N}"[..(who.Length + 13)] + "@example.com";

    /// <summary>Registers a user through the API; returns the id.</summary>
    public Task<string> RegisterAsync(string email, string displayName) => Server.RegisterAsync(email, displayName);

    /// <summary>Signs in through the page, as a person does, and waits for the page it leads to.</summary>
    public static async Task<IPage> SignInAsync(IBrowserContext device, string email, string password = TesseraWebServer.Password, string path = "/login")
    {
        var page = await device.NewPageAsync();
        await page.GotoAsync(path);
        await SubmitSignInAsync(page, email, password);
        await Expect(page).Not.ToHaveURLAsync(LoginPage());
        return page;
    }

    public static async Task SubmitSignInAsync(IPage page, string email, string password)
    {
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>Opens a page and waits until its event stream is connected (tessera.js marks it after the first ping).</summary>
    public static async Task OpenLiveAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await WaitLiveAsync(page);
    }

    public static Task WaitLiveAsync(IPage page) =>
        Expect(page.Locator("html[data-live='connected']")).ToHaveCountAsync(1);

    public static Regex LoginPage() => LoginPattern();

    [GeneratedRegex(@"/login(\?|$)")]
    private static partial Regex LoginPattern();

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        await Server.DisposeAsync();
    }
}
