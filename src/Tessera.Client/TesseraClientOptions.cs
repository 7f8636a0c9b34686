using Microsoft.Extensions.Logging;

namespace Tessera.Client;

/// <summary>How a <see cref="TesseraClient"/> reaches Tessera, where it keeps the token and what it says about the device.</summary>
public sealed class TesseraClientOptions
{
    /// <summary>The Tessera server, e.g. <c>https://auth.example.com/</c>. Required.</summary>
    public Uri? Authority { get; set; }

    /// <summary>
    /// The name of the app, used for the default token file's folder under the user's local app-data directory
    /// (<see cref="FileTokenStore.ForApp"/>). Ignored when <see cref="TokenStore"/> is set.
    /// </summary>
    public string AppName { get; set; } = "Tessera";

    /// <summary>Where the session token is kept. Default: a <see cref="FileTokenStore"/> for <see cref="AppName"/>.</summary>
    public ITokenStore? TokenStore { get; set; }

    /// <summary>What the device says about itself at sign-in (shown in the person's sessions list). Default: <see cref="DeviceInfo.FromMachine"/>.</summary>
    public DeviceInfo? Device { get; set; }

    /// <summary>The clock for every wait (request timeouts, backoff, ping timeouts, polling). Tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the client and its watchers log (the stream's losses, fallbacks and the session's end); none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// How long one request may take before Tessera counts as unreachable (<see cref="TesseraUnavailableException"/>).
    /// The event stream uses it for its answer's headers only.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
