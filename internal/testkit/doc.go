// Package testkit holds test-only protocol fakes that speak the real wire protocols over HTTP
// (httptest): a Bot Connector, a Bot Framework OpenID/JWKS issuer with a token signer, and
// activity builders modelled on the Microsoft 365 Agents Playground's captured activities.
//
// Tests use these instead of mocks of guestpass's own interfaces, so that the HTTP clients,
// JSON encodings, retries and token validation under test are the production ones.
package testkit
