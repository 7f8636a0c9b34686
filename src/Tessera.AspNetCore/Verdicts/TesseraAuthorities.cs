using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Tessera.AspNetCore.Verdicts;

/// <summary>One <see cref="TesseraAuthority"/> per authentication scheme, made on first use with the scheme's options.</summary>
internal sealed class TesseraAuthorities(
    IOptionsMonitor<TesseraAuthenticationOptions> options, IHttpClientFactory httpClients, TimeProvider clock, ILoggerFactory loggers) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TesseraAuthority>> _authorities = new(StringComparer.Ordinal);

    public TesseraAuthority Get(string scheme) =>
        _authorities.GetOrAdd(scheme, name => new Lazy<TesseraAuthority>(() => new TesseraAuthority(
            name, options.Get(name), httpClients, clock, loggers.CreateLogger("Tessera.AspNetCore.Authority")))).Value;

    public void Dispose()
    {
        foreach (var authority in _authorities.Values.Where(lazy => lazy.IsValueCreated))
        {
            authority.Value.Dispose();
        }
    }
}
