namespace Tessera.Core.Options;

/// <summary>
/// The core's settings, under the <c>Tessera</c> configuration section: sessions, passwords, rate limits, admins and
/// the bootstrap admin. The stores, Redis and the server each bind their own settings in the same section.
/// </summary>
public sealed class TesseraOptions
{
    public const string SectionName = "Tessera";

    public SessionOptions Sessions { get; set; } = new();

    public PasswordOptions Passwords { get; set; } = new();

    public RateLimitingOptions RateLimiting { get; set; } = new();

    public BootstrapOptions Bootstrap { get; set; } = new();

    public AdminOptions Admin { get; set; } = new();

    public ClientOptions Clients { get; set; } = new();
}
