using System.Net;
using System.Net.Sockets;

namespace Tessera.Core.Accounts;

/// <summary>
/// The visitor a service client signs in on behalf of (<c>"visitor": {ipAddress, userAgent}</c>), checked before it is
/// trusted: an address that is an IP address and nothing else, written in its usual form, and a user agent a browser could
/// have sent.
/// </summary>
public static class VisitorInput
{
    /// <summary>
    /// Generous for real browsers (with in-app and extension tokens they stay well under 1,000 characters) while keeping a
    /// client from storing pages of text per session; the device is still read from the first 512, as for a direct login.
    /// </summary>
    public const int MaxUserAgentLength = 1024;

    /// <summary>
    /// The address in canonical form (IPv4 dotted quad, IPv6 as .NET writes it, an IPv4-mapped IPv6 address as its IPv4
    /// address, as the per-address throttle counts it). Refused: anything <see cref="IPAddress.TryParse(string?, out IPAddress?)"/>
    /// would stretch into an address ("1", "0x7f.1", "010.0.0.1"), a zone id, brackets and a port, surrounding spaces.
    /// </summary>
    public static string CheckIpAddress(string? ipAddress)
    {
        const string field = "visitor.ipAddress";
        if (string.IsNullOrEmpty(ipAddress))
        {
            throw TesseraException.Validation(field, "visitor.ipAddress is required: the address the visitor's request came from.");
        }

        if (ipAddress.Length > 45 || !IPAddress.TryParse(ipAddress, out var address) || ipAddress.Contains('%', StringComparison.Ordinal))
        {
            throw TesseraException.Validation(field, "visitor.ipAddress must be an IPv4 or IPv6 address, such as 203.0.113.7 or 2001:db8::7.");
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // TryParse takes "1" and "127.1" and octal-looking parts; only the four decimal parts it writes back are an address.
            return address.ToString() == ipAddress
                ? ipAddress
                : throw TesseraException.Validation(field, "visitor.ipAddress must be an IPv4 address in four decimal parts (203.0.113.7), or an IPv6 address.");
        }

        // TryParse also takes brackets and a port ("[2001:db8::7]:443"); an address alone is hex digits, colons and dots.
        if (!ipAddress.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'))
        {
            throw TesseraException.Validation(field, "visitor.ipAddress must be an address alone, with no brackets or port.");
        }

        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString() : address.ToString();
    }

    /// <summary>The user agent as given, or null for none; refused when too long or holding characters no header can carry.</summary>
    public static string? CheckUserAgent(string? userAgent)
    {
        const string field = "visitor.userAgent";
        if (string.IsNullOrEmpty(userAgent))
        {
            return null;
        }

        if (userAgent.Length > MaxUserAgentLength)
        {
            throw TesseraException.Validation(field, $"visitor.userAgent may be at most {MaxUserAgentLength} characters long.");
        }

        // A header value holds no control characters other than tab (RFC 9110 §5.5); one in JSON was not sent by a browser.
        if (userAgent.Any(c => char.IsControl(c) && c != '\t'))
        {
            throw TesseraException.Validation(field, "visitor.userAgent must not contain control characters.");
        }

        return userAgent;
    }
}
