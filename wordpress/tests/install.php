<?php
/**
 * Install WordPress in the site `scripts/wordpress-up` prepared, with pretty permalinks, the companion active and
 * an application password named "MemberSync" for the administrator. Prints the application password.
 *
 * @package MemberSync_Companion_Tests
 */

define( 'WP_INSTALLING', true );
require __DIR__ . '/bootstrap.php';
membersync_test_wordpress( $argv[1] );
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
add_filter( 'pre_wp_mail', '__return_false' ); // no mail server here: the install's welcome email is not sent

$url = trim( (string) file_get_contents( $argv[1] . '/../url' ) );
wp_install( 'MemberSync test site', 'admin', 'admin@example.test', false, '', wp_generate_password( 24 ) );
update_option( 'siteurl', $url );
update_option( 'home', $url );
global $wp_rewrite;
$wp_rewrite->set_permalink_structure( '/%postname%/' );
$wp_rewrite->flush_rules( false );
switch_theme( 'membersync-test' );
$activated = activate_plugin( 'membersync-companion/membersync-companion.php' );
if ( is_wp_error( $activated ) ) {
	fwrite( STDERR, 'the companion did not activate: ' . $activated->get_error_message() . "\n" );
	exit( 1 );
}
$admin    = get_user_by( 'login', 'admin' );
$password = WP_Application_Passwords::create_new_application_password( $admin->ID, array( 'name' => 'MemberSync' ) );
echo $password[0] . "\n"; // phpcs:ignore WordPress.Security.EscapeOutput
