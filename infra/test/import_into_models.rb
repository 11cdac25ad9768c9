# frozen_string_literal: true

# TEST HELPER: loads rows of a real (restored) Chatwoot-shaped PostgreSQL database into the
# in-memory model stand-ins (chatwoot_models.rb), keeping their ids, so that bootstrap.rb meets
# the records an adopted installation has. Reads {"table": [row, …], …} as JSON on stdin.
# Run as: ruby -r chatwoot_models.rb import_into_models.rb
require 'json'

rows = JSON.parse($stdin.read)
ROLES = { 0 => 'agent', 1 => 'administrator' }.freeze
LOCALES = Account::LOCALES

(rows['accounts'] || []).each do |r|
  locale = r['locale'].is_a?(Integer) ? LOCALES.fetch(r['locale'], 'en') : r['locale']
  Account.import!(r['id'], name: r['name'], locale: locale, custom_attributes: r['custom_attributes'] || {})
end
(rows['users'] || []).each do |r|
  User.import!(r['id'], email: r['email'], name: r['name'], type: r['type'], encrypted_password: r['encrypted_password'],
                        confirmed_at: '2026-01-01T00:00:00Z')
end
(rows['account_users'] || []).each do |r|
  AccountUser.import!(r['id'], account_id: r['account_id'], user_id: r['user_id'], role: ROLES.fetch(r['role'], 'agent'))
end
(rows['channel_api'] || []).each do |r|
  Channel::Api.import!(r['id'], account_id: r['account_id'], webhook_url: r['webhook_url'], hmac_mandatory: r['hmac_mandatory'],
                                additional_attributes: r['additional_attributes'] || {}, identifier: r['identifier'])
end
(rows['inboxes'] || []).each do |r|
  Inbox.import!(r['id'], account_id: r['account_id'], name: r['name'], channel_type: r['channel_type'], channel_id: r['channel_id'])
end
(rows['webhooks'] || []).each do |r|
  Webhook.import!(r['id'], account_id: r['account_id'], url: r['url'], name: r['name'], webhook_type: 'account_type',
                           subscriptions: r['subscriptions'], secret: r['secret'])
end
(rows['platform_apps'] || []).each { |r| PlatformApp.import!(r['id'], name: r['name']) }
(rows['platform_app_permissibles'] || []).each do |r|
  PlatformAppPermissible.import!(r['id'], platform_app_id: r['platform_app_id'], permissible_type: r['permissible_type'],
                                           permissible_id: r['permissible_id'])
end
(rows['access_tokens'] || []).each do |r|
  AccessToken.import!(r['id'], owner_type: r['owner_type'], owner_id: r['owner_id'], token: r['token'])
end
(rows['installation_configs'] || []).each do |r|
  InstallationConfig.import!(r['id'], name: r['name'], value: (r['serialized_value'] || {})['value'], locked: r['locked'])
end
