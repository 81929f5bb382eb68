using System.Net;
using System.Security.Cryptography;
using System.Text;
using JobApi.Engine;

namespace JobApi.Tests;

public sealed class CallbackUrlsTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.0.0.5", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("2606:4700::1111", false)]
    public void Internal_addresses_are_recognised(string address, bool expected) =>
        Assert.Equal(expected, CallbackUrls.IsInternal(IPAddress.Parse(address)));

    [Fact]
    public void The_signature_is_the_hex_HMAC_SHA256_of_the_raw_body()
    {
        var body = Encoding.UTF8.GetBytes("{\"id\":\"x\"}");
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes("k"));
        Assert.Equal("sha256=" + string.Concat(hmac.ComputeHash(body).Select(b => b.ToString("x2"))), CallbackUrls.Sign("k", body));
    }

    [Theory]
    [InlineData("https://example.com/hook", false, true)]
    [InlineData("http://127.0.0.1:8080/hook", false, false)]
    [InlineData("http://127.0.0.1:8080/hook", true, true)]
    [InlineData("http://api.localhost/hook", false, false)]
    [InlineData("https://user:pw@example.com/hook", true, false)]
    [InlineData("file:///etc/passwd", true, false)]
    public void Callback_urls_are_checked(string url, bool allowLoopback, bool accepted) =>
        Assert.Equal(accepted, CallbackUrls.Problem(url, allowLoopback) is null);
}
